"""Email threads: a follow-up answers the thread's first email, by headers and by subject.

Mail clients group a conversation differently: Thunderbird and Apple Mail follow In-Reply-To and
References; Gmail also wants the same subject (ignoring "Re:"); Outlook groups by the subject with its
prefixes removed. So an update or a thank-you in a thread carries both: the headers (set from
`Notice.in_reply_to`) and "Re: <the first email's subject>". The follow-up's own news leads its body.
"""

from __future__ import annotations

import re

# "Re: Re: RE:" — ours, or a staff edit that added one; exactly one is put back.
_REPLY_PREFIXES = re.compile(r"^(?:\s*re\s*:\s*)+", re.IGNORECASE)


def reply_subject(first_subject: str) -> str:
    return "Re: " + _REPLY_PREFIXES.sub("", first_subject).strip()
