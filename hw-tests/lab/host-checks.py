#!/usr/bin/python3
"""Host-side checks of the hw-test lab; each prints one @@HWTEST marker line (as the guest suite does).

  host-checks.py tone WAV HZ                 the speaker's WAV output holds a HZ tone (Goertzel)
  host-checks.py screendump QMP-SOCK PNG W H  a QMP screendump of the display is a W x H PNG
  host-checks.py composed QMP-SOCK PNG LOG [MARKER]
                                              the display shows the pixels the guest's MARKER line in LOG lists
                                              (default @@HWTEST-SCANOUT; see SCANOUTS for the checks they report)
Exit status 0 when the check passed. Only the standard library (Debian's python3)."""
import json, math, os, socket, struct, sys, time, zlib

def mark(ok, name, t0, detail):
    print(f"@@HWTEST|{'PASS' if ok else 'FAIL'}|{name}|{int((time.monotonic() - t0) * 1000)}|{detail}", flush=True)
    return 0 if ok else 1

def read_wav(path):
    """Channel 0 of a 16-bit PCM WAV; reads the data chunk to the end of the file (QEMU may not have
    patched the header sizes if it was killed)."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 12 or b[0:4] != b"RIFF" or b[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt = 12, None
    while pos + 8 <= len(b):
        cid, size = b[pos:pos + 4], struct.unpack_from("<I", b, pos + 4)[0]
        body = pos + 8
        if body + size > len(b) and cid != b"data":
            raise ValueError(f"chunk {cid!r} of {size} bytes runs past the end of the file")
        if cid == b"fmt ":
            if size < 16:
                raise ValueError(f"fmt chunk of {size} bytes, need 16")
            tag, ch, rate, _, _, bits = struct.unpack_from("<HHIIHH", b, body)
            if not 8000 <= rate <= 192000:
                raise ValueError(f"sample rate {rate} Hz is not plausible")
            if not 1 <= ch <= 64:
                raise ValueError(f"{ch} channels is not plausible")
            fmt = (tag, ch, rate, bits)
        elif cid == b"data":
            if fmt is None:
                raise ValueError("data chunk before fmt chunk")
            tag, ch, rate, bits = fmt
            if tag != 1 or bits != 16 or ch < 1:
                raise ValueError(f"unsupported format tag {tag}, {bits} bits, {ch} channels")
            # A QEMU that was killed leaves the size unpatched (0 or too large): read to the end then.
            data = b[body:body + size] if 0 < size and body + size <= len(b) else b[body:]
            n = len(data) // (2 * ch)
            s = struct.unpack_from(f"<{n * ch}h", data)
            return rate, ch, s[0::ch]
        pos = body + size + (size & 1)
    raise ValueError("no data chunk")

def power(x, f, rate):
    """Goertzel: |X(f)|^2 over the samples x."""
    w = 2 * math.pi * f / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + c * s1 - s2
        s2 = s1
        s1 = s0
    return s1 * s1 + s2 * s2 - c * s1 * s2

def tone(path, hz):
    t0 = time.monotonic()
    name = "host.usb-speaker.tone"
    try:
        rate, ch, x = read_wav(path)
    except (OSError, ValueError, struct.error) as e:
        return mark(False, name, t0, f"{path}: {e}")
    # Where it sounded: 10 ms blocks above -40 dBFS.
    blk = rate // 100
    loud = [i for i in range(0, len(x) - blk, blk) if sum(v * v for v in x[i:i + blk]) / blk > (327.68 ** 2)]
    sounding = len(loud) * blk / rate
    if not loud:
        return mark(False, name, t0, f"{len(x) / rate:.2f} s of audio at {rate} Hz, all silent")
    # The longest run of loud blocks; analyse up to 8192 samples from its middle.
    best, run = (0, 0), (loud[0], 1)
    for a, b in zip(loud, loud[1:]):
        run = (run[0], run[1] + 1) if b == a + blk else (b, 1)
        best = max(best, run, key=lambda r: r[1])
    best = max(best, run, key=lambda r: r[1])
    n = min(8192, best[1] * blk)
    start = best[0] + (best[1] * blk - n) // 2
    seg = x[start:start + n]
    energy = sum(v * v for v in seg)
    freqs = list(range(100, min(8000, rate // 2 - 100) + 1, 50))
    spectrum = {f: power(seg, f, rate) for f in freqs}
    peak = max(spectrum, key=spectrum.get)
    frac = 2 * power(seg, hz, rate) / (n * energy) if energy else 0.0  # 1.0 for a pure tone
    ok = peak == hz and frac > 0.8 and sounding >= 0.5
    return mark(ok, name, t0, f"{path.rsplit('/', 1)[-1]}: {len(x) / rate:.2f} s at {rate} Hz, {ch} ch; sounding {sounding:.2f} s; "
                f"dominant {peak} Hz, {frac * 100:.1f}% of the energy at {hz} Hz (need {hz} Hz, >80%, >=0.5 s)")

class Qmp:
    def __init__(self, path, timeout):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.recv()  # greeting
        self.cmd("qmp_capabilities")

    def recv(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            r = self.recv()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error'].get('desc')}")
            # events: skip

def png_size(path):
    """Width and height from a PNG's IHDR; ValueError if the file is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    w, h = struct.unpack(">II", head[16:24])
    if w == 0 or h == 0:
        raise ValueError(f"PNG of {w}x{h} pixels")
    return w, h

def dump_png(sock, out):
    """One QMP screendump of the guest's display to the PNG file out (a connection of its own each time)."""
    q = Qmp(sock, 10)
    try:
        q.cmd("screendump", filename=out, format="png")
    finally:
        q.s.close()

def screendump(sock, out, w, h):
    t0 = time.monotonic()
    name = "host.display.screendump"
    last = "no attempt"
    deadline = t0 + 60
    done = os.environ.get("HWTEST_QEMU_DONE")  # a file the lab creates when QEMU has exited: stop waiting then
    while time.monotonic() < deadline and not (done and os.path.exists(done)):
        try:
            dump_png(sock, out)
            pw, ph = png_size(out)
            if (pw, ph) == (w, h):
                return mark(True, name, t0, f"{out}: {pw}x{ph} PNG")
            last = f"{pw}x{ph}, not {w}x{h}"  # the guest may not have set its mode yet
        except (OSError, ValueError, RuntimeError, ConnectionError) as e:
            last = str(e)
        time.sleep(1)
    return mark(False, name, t0, f"no {w}x{h} screendump while the guest ran (60 s at most): {last}")

def png_pixels(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG (what QEMU's screendump writes)."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(b):
        size, kind = struct.unpack_from(">I4s", b, pos)
        body = b[pos + 8:pos + 8 + size]
        if len(body) != size:
            raise ValueError(f"chunk {kind!r} runs past the end of the file")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + size
    if ihdr is None:
        raise ValueError("no IHDR")
    w, h, depth, colour, _, _, interlace = ihdr
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    if len(raw) < h * (stride + 1):
        raise ValueError(f"{len(raw)} bytes of image data for {w}x{h}")
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + up) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + up) // 2) & 0xFF
            elif f == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 0xFF
            elif f != 0:
                raise ValueError(f"row {y}: unknown PNG filter {f}")
        rows.append(bytes(line) if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
        prev = line
    return w, h, rows

def parse_scanout(line, marker="@@HWTEST-SCANOUT"):
    """'MARKER|WxH|x,y,RRGGBB,what;...' -> ((w, h), [(x, y, rgb, what)])."""
    parts = line.strip().split("|")
    if len(parts) != 3 or parts[0] != marker:
        raise ValueError(f"not a scanout line: {line.strip()[:80]}")
    w, h = (int(v) for v in parts[1].split("x"))
    points = []
    for p in parts[2].split(";"):
        x, y, rgb, what = p.split(",", 3)
        points.append((int(x), int(y), int(rgb, 16), what))
    if not points:
        raise ValueError("no pixels listed")
    return (w, h), points

def compare(png, size, points, tolerance=8):
    """The points of PNG that differ from what the guest drew (empty when it all matches)."""
    w, h, rows = png_pixels(png)
    if (w, h) != size:
        return [f"screendump is {w}x{h}, the guest composed {size[0]}x{size[1]}"]
    bad = []
    for x, y, rgb, what in points:
        if not (0 <= x < w and 0 <= y < h):
            bad.append(f"{what} ({x},{y}) off the screen")
            continue
        got = tuple(rows[y][x * 3:x * 3 + 3])
        want = ((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF)
        if any(abs(a - b) > tolerance for a, b in zip(got, want)):
            bad.append(f"{what} ({x},{y}) #{bytes(got).hex()} not #{rgb:06x}")
    return bad

# The guest's scanout lines, and the host check each is reported as.
SCANOUTS = {
    "@@HWTEST-SCANOUT": "host.display.composed",  # display.kms.scanout: the suite's own frame
    "@@HWTEST-SCANOUT-ROOMD": "host.display.roomd-call",  # display.roomd-call: roomd's frame of a call
}

def composed(sock, out, log, marker="@@HWTEST-SCANOUT"):
    """Waits for the guest's MARKER line, then screendumps until the display shows those pixels."""
    t0 = time.monotonic()
    name = SCANOUTS[marker]
    done = os.environ.get("HWTEST_QEMU_DONE")
    line = None
    while line is None:
        try:
            with open(log, "rb") as f:
                line = next((l.decode(errors="replace") for l in f if l.startswith(marker.encode() + b"|")), None)
        except OSError:
            pass
        if line is None:
            if done and os.path.exists(done):
                return mark(False, name, t0, f"the guest never printed {marker} (its check did not get that far)")
            time.sleep(0.5)
    try:
        size, points = parse_scanout(line, marker)
    except ValueError as e:
        return mark(False, name, t0, str(e))
    t1, deadline, last = time.monotonic(), time.monotonic() + 60, "no attempt"
    while time.monotonic() < deadline and not (done and os.path.exists(done)):
        try:
            dump_png(sock, out)
            bad = compare(out, size, points)
            if not bad:
                return mark(True, name, t0, f"{out}: {size[0]}x{size[1]}, all {len(points)} pixels the guest composed are on the display "
                            f"({', '.join(p[3] for p in points)}), {time.monotonic() - t1:.1f} s after the guest flipped")
            last = f"{len(bad)} of {len(points)} differ: " + "; ".join(bad[:6])
        except (OSError, ValueError, RuntimeError, ConnectionError, zlib.error) as e:
            last = str(e)
        time.sleep(1)
    return mark(False, name, t0, f"the display did not show the composed frame (60 s at most): {last}")

if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "tone":
        sys.exit(tone(a[1], int(a[2])))
    if len(a) == 5 and a[0] == "screendump":
        sys.exit(screendump(a[1], a[2], int(a[3]), int(a[4])))
    if len(a) in (4, 5) and a[0] == "composed" and (len(a) == 4 or a[4] in SCANOUTS):
        sys.exit(composed(*a[1:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
