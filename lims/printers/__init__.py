"""Label printers: ZPL sent over raw TCP to network printers (``zpl``), PDF queued on CUPS
(``cups``), and a ZPL printer emulator for the tests and the demo (``emulator``, not imported
here). No Flask or database here: the print jobs and the printer register are above.
"""

from .cups import send_pdf
from .zpl import PORT, HostStatus, PrinterError, host_status, parse_host_status, send

__all__ = [
    "PORT",
    "HostStatus",
    "PrinterError",
    "host_status",
    "parse_host_status",
    "send",
    "send_pdf",
]
