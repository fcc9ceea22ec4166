"""Fan-out approvals: big outage announcements wait for staff to approve or decline them."""
