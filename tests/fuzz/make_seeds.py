#!/usr/bin/env python3
"""Writes the seed corpus of shm_fuzz (tests/fuzz/corpus/): one honest and one hostile script per
target, in the byte format the targets read (see shm_fuzz.cc and each *_fuzz.cc). The fuzzer
starts from these; what it finds beyond them is not checked in. Run after changing a format:
    tests/fuzz/make_seeds.py
"""
import pathlib
import struct

RING, BROADCAST, FRAME, SLOT = 0, 1, 2, 3


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def ring_seed(attack):
    # capacity 64 << 2 = 256 bytes, max message 100: a 40-byte record wraps every few records.
    out = bytes([RING, 2]) + u16(100)
    for i in range(12):
        out += bytes([0]) + u16(40) + bytes([i] * 40)  # reserve 40 bytes, fill them
        out += bytes([2, 3, 7, 6]) + u16(10)  # commit, peek, check the frame, probe
        if attack and i % 3 == 2:
            out += bytes([8, 0, 2, 1])  # head: one byte further than published
            out += bytes([8, 3, 1, 0]) + u32(100000)  # a forged record length
        out += bytes([5])  # release
    return out


def broadcast_seed(attack):
    # 2 readers, 3 slots of 40-byte messages; op = 16 * reader + kind.
    out = bytes([BROADCAST, 1, 2]) + u16(40)
    for i in range(10):
        out += bytes([0]) + bytes([i] * 40) + bytes([1])  # reserve, fill, commit
        for r in range(2):
            out += bytes([16 * r + 2, 16 * r + 4, 16 * r + 5])  # peek, release, probe
        if attack and i % 3 == 2:
            out += bytes([6, 0, 2, 9])  # head: 9 ahead (beyond the slots)
            out += bytes([16 + 6, 1, 2, 0xFF])  # reader 1's tail: one back
    return out


def slot_seed(attack):
    # 2 << 2 = 8 slots of 100-byte messages: a lap every 8 messages, credits every 4.
    out = bytes([SLOT, 2]) + u16(99)
    for i in range(20):
        out += bytes([0]) + bytes([i] * 100) + bytes([1])  # reserve, fill, commit
        out += bytes([2, 4, 3])  # peek, probe, release
        if attack and i % 5 == 4:
            out += bytes([5, 1, 1, 3])  # the consumer's next stamp: 3 positions off
            out += bytes([6, 0, 3])  # the credit: beyond what was produced
    return out


def frame_seed(raw):
    out = bytes([FRAME]) + u16(64) + bytes([0])  # 64-byte payloads, verify full
    for i in range(8):
        if raw:
            out += bytes([0]) + u16(96) + bytes(range(i, i + 96))  # any bytes, header size + 64
        else:
            out += bytes([1, 0, i % 4]) + b"".join(u16(3 * i + e) + bytes([0x10]) for e in range(i % 4))
            out += bytes([8 if i == 5 else 1])  # once (8 % 8 == 0): cut short to 20 bytes
            if i == 5:
                out += u16(20)
    return out


def main():
    corpus = pathlib.Path(__file__).resolve().parent / "corpus"
    corpus.mkdir(exist_ok=True)
    seeds = {
        "ring-honest": ring_seed(False),
        "ring-hostile": ring_seed(True),
        "broadcast-honest": broadcast_seed(False),
        "broadcast-hostile": broadcast_seed(True),
        "frame-valid-edited": frame_seed(False),
        "frame-raw": frame_seed(True),
        "slot-honest": slot_seed(False),
        "slot-hostile": slot_seed(True),
    }
    for name, data in seeds.items():
        (corpus / name).write_bytes(data)
        print(f"{corpus / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
