"""png_stats.py PNG — decodes an 8-bit RGB/RGBA/grey PNG with zlib alone and
prints "WIDTH HEIGHT COLOURS BLUE ORANGE": the image's size, how many
distinct colours it has, and how many pixels are close to the plot's train
(#1f77b4) and validation (#ff7f0e) curve colours.  Used by
tests/test_host_fit.c to check that the rendered training plot is not blank.
Exit 1 with a message when the file is not such a PNG."""
import struct
import sys
import zlib


def decode(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG signature")
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if ihdr is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError("unsupported PNG (depth %d, colour type %d, interlace %d)"
                         % (depth, colour, interlace))
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def near(px, rgb):
    return all(abs(px[k] - rgb[k]) <= 40 for k in range(3))


def main():
    try:
        with open(sys.argv[1], "rb") as f:
            width, height, channels, rows = decode(f.read())
    except (OSError, ValueError, zlib.error) as e:
        print("%s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    colours, blue, orange = set(), 0, 0
    for line in rows:
        for x in range(width):
            px = line[x * channels:(x + 1) * channels]
            if channels < 3:
                px = bytes([px[0]] * 3) + px[1:]
            colours.add(bytes(px))
            if channels in (2, 4) and px[-1] < 128:
                continue
            blue += near(px, (0x1f, 0x77, 0xb4))
            orange += near(px, (0xff, 0x7f, 0x0e))
    print(width, height, len(colours), blue, orange)
    return 0


if __name__ == "__main__":
    sys.exit(main())
