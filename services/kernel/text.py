"""What every string a client sends must be before anything reads it.

PostgreSQL refuses NUL in text (``invalid byte sequence for encoding "UTF8": 0x00``),
a lone surrogate (``\\ud800`` in JSON decodes to one) cannot be encoded as UTF-8 by any
driver, and other C0 control characters have no place in a name, a reference or an
e-mail. Such input used to reach the database and come back as "Error interno".
"""
from __future__ import annotations

import re
from typing import assert_never

from services.kernel.codes import InputProblem

# Any string argument, unless it is one of the documented larger fields (schema/input_guard.py).
MAX_STRING_LENGTH = 10_000
# TAB, LF and CR are text; every other C0 control character and DEL are not.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def string_problem(text: str, max_length: int = MAX_STRING_LENGTH) -> tuple[InputProblem, str] | None:
    """The first thing wrong with ``text`` and the offending character as U+XXXX (or the
    limit, for TOO_LONG); None when it is acceptable."""
    if len(text) > max_length:
        return InputProblem.TOO_LONG, f"{max_length:,}".replace(",", " ")
    if (found := _CONTROL.search(text)) is not None:
        char = found.group()
        problem = InputProblem.NUL_CHARACTER if char == "\x00" else InputProblem.CONTROL_CHARACTER
        return problem, f"U+{ord(char):04X}"
    if (found := _SURROGATE.search(text)) is not None:
        return InputProblem.LONE_SURROGATE, f"U+{ord(found.group()):04X}"
    return None


def problem_message(field: str, problem: InputProblem, detail: str) -> str:
    match problem:
        case InputProblem.NUL_CHARACTER:
            return f"«{field}» contiene un carácter nulo ({detail}), que no se puede guardar: quítalo e intenta de nuevo."
        case InputProblem.CONTROL_CHARACTER:
            return f"«{field}» contiene un carácter de control ({detail}) que no se admite: quítalo e intenta de nuevo."
        case InputProblem.LONE_SURROGATE:
            return (f"«{field}» contiene un carácter Unicode inválido ({detail}, un sustituto suelto): "
                    "revisa la codificación del texto.")
        case InputProblem.TOO_LONG:
            return f"«{field}» es demasiado largo: a lo más {detail} caracteres."
        case _:
            assert_never(problem)
