"""Protocols: the one way a checkpoint is scored (see ``base.py``).

``finetuned`` (the ``evaluate`` step), ``attack``, ``retrieval`` (``retrieve``; kinds in
``retrieval_kinds/``) and ``alignment`` (``align``, in ``align/protocol.py``). ``PROTOCOLS``
imports every module of this package on its first lookup, so a protocol is added by one new file.
"""

from xstilts.evaluation.protocols.base import (
    PROTOCOLS,
    Protocol,
    ProtocolParams,
    StepRequest,
    get_protocol,
    protocol,
    protocol_for_step,
    run_protocol_step,
    task_protocol,
)

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "ProtocolParams",
    "StepRequest",
    "get_protocol",
    "protocol",
    "protocol_for_step",
    "run_protocol_step",
    "task_protocol",
]
