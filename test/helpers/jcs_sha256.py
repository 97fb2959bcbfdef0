"""Recomputes ScadaLink revision hashes from package JSON alone, independently of the Node implementation.

revisionHash = "sha256:" + hex(SHA-256(JCS(document without revisionHash))), JCS = RFC 8785.
Reads a JSON array of documents on stdin; prints one line per document: its stored hash and the recomputed one.
"""
import hashlib
import json
import math
import sys


def number(v):
    # RFC 8785 uses ECMAScript Number.prototype.toString for numbers.
    if isinstance(v, bool):
        raise TypeError("bool is not a number")
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e21):
        return str(int(v))
    if not math.isfinite(v):
        raise ValueError("non-finite number")
    r = repr(v)  # shortest round-trip form, like ECMAScript
    if "e" in r:
        mant, exp = r.split("e")
        exp = int(exp)
        if -7 < exp < 21:
            # ECMAScript writes these without an exponent.
            digits = mant.replace(".", "").lstrip("-")
            point = (mant.lstrip("-").find(".") if "." in mant else len(mant.lstrip("-"))) + exp
            sign = "-" if mant.startswith("-") else ""
            if point <= 0:
                return sign + "0." + "0" * (-point) + digits.rstrip("0")
            return sign + (digits + "0" * max(0, point - len(digits)))[:point] + (("." + digits[point:]) if digits[point:] else "")
        return mant + "e" + ("+" if exp > 0 else "-") + str(abs(exp))
    return r


def string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    # Keys sorted by their UTF-16 code units.
    keys = sorted(v.keys(), key=lambda k: k.encode("utf-16-be"))
    return "{" + ",".join(string(k) + ":" + canonical(v[k]) for k in keys) + "}"


for doc in json.load(sys.stdin):
    stored = doc.pop("revisionHash")
    digest = hashlib.sha256(canonical(doc).encode("utf-8")).hexdigest()
    print(stored, "sha256:" + digest)
