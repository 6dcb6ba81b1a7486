#!/usr/bin/python3
"""Rewrite one ELF version-need entry (.gnu.version_r vernaux) of a shared library in place.

Usage: retarget_verneed.py LIB FROM_VERSION TO_VERSION
The vernaux named FROM_VERSION gets TO_VERSION's existing .dynstr offset and its ELF hash, so the
dynamic loader no longer asks the system library for FROM_VERSION. TO_VERSION must already be a
string in .dynstr (i.e. a version the library already needs). Exits 0 if nothing needs changing."""
import struct, sys

def elf_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h

def main(path, old, new):
    old_b, new_b = old.encode(), new.encode()
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        verneed = [s for s in sections if s[1] == 0x6FFFFFFE]
        if not verneed:
            sys.exit(f"{path}: no .gnu.version_r section")
        vr = verneed[0]
        dynstr = sections[vr[6]]
        str_off, str_size = dynstr[4], dynstr[5]
        strtab = bytes(data[str_off:str_off + str_size])
        idx = strtab.find(b"\0" + new_b + b"\0")
        if idx < 0:
            sys.exit(f"{path}: version {new} is not in .dynstr; choose a version the library already needs")
        new_name = idx + 1
        def name_at(o):
            return strtab[o:strtab.index(b"\0", o)]
        changed = 0
        off = vr[4]
        while True:
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, off)
            a = off + aux
            for _ in range(cnt):
                _, _, _, name, anext = struct.unpack_from("<IHHII", data, a)
                if name_at(name) == old_b:
                    struct.pack_into("<I", data, a, elf_hash(new_b))
                    struct.pack_into("<I", data, a + 8, new_name)
                    changed += 1
                a += anext
            if nxt == 0:
                break
            off += nxt
        if changed:
            f.seek(0)
            f.write(data)
    print(f"{path}: {changed} version-need entr{'y' if changed == 1 else 'ies'} {old} -> {new}")

if __name__ == "__main__":
    main(*sys.argv[1:4])
