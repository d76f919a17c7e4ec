"""Gate device adapters: SAM ID card reader, PC/SC badge reader, ESC/POS printer, QR scanners.

Device libraries (pyserial, pyscard, python-escpos, qrcode) are imported inside the adapter
modules' functions only, so importing this package needs none of them. ``memory`` holds the
in-memory twins; ``sim`` the wire-protocol simulators the integration tests and
``edge-agent devices --simulate`` run the real adapters against.
"""
