"""Links a customer can click: the feed's own order and tracking pages where a feed gave them, otherwise
Forewarn's status page at an unguessable signed link (`/s/{token}`) and its address form."""
