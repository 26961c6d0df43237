"""A local emulator of the Finkok (SOAP) and SW Sapien (REST) protocols, for the tests and
for development (`autofactura pac emulate --kind finkok|sw --port P`).

Built from the recorded Finkok answers (tests/fixtures/pac/finkok) and the protocol
facts in the PAC README: it checks the envelope, the credentials, the base64, SAT's XSD,
the Sello and the 72 h window (the sandbox PAC's checks, services/stamping/sandbox.py),
and stamps with its own test certificate (the sandbox's TFD, Leyenda "SANDBOX - SIN
VALIDEZ FISCAL"). Same bytes again: 307, with or without the earlier XML. It can stall
an answer past the client's timeout after stamping, fail with 708, and hold a
cancellation "En proceso" until accepted or rejected.
"""
from .server import EmulatorServer
from .state import EmulatorState

__all__ = ["EmulatorServer", "EmulatorState"]
