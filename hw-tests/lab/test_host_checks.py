"""Malformed-input and behaviour tests of host-checks.py (python3 -m unittest, standard library only)."""
import importlib.util, io, math, os, struct, sys, tempfile, unittest
from contextlib import redirect_stdout

_spec = importlib.util.spec_from_file_location("host_checks", os.path.join(os.path.dirname(__file__), "host-checks.py"))
hc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hc)

def wav(samples, rate=48000, ch=1, bits=16, tag=1, fmt_size=16, data_size=None, fmt_first=True):
    data = struct.pack(f"<{len(samples)}h", *samples)
    fmt = struct.pack("<HHIIHH", tag, ch, rate, rate * ch * bits // 8, ch * bits // 8, bits)[:fmt_size]
    fmt_chunk = b"fmt " + struct.pack("<I", fmt_size) + fmt + (b"\0" if fmt_size & 1 else b"")
    data_chunk = b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    body = fmt_chunk + data_chunk if fmt_first else data_chunk + fmt_chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body

def sine(hz, seconds, rate=48000, amp=8000):
    return [int(amp * math.sin(2 * math.pi * hz * i / rate)) for i in range(int(seconds * rate))]

class ToneCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def check(self, content, hz=1000):
        path = os.path.join(self.dir.name, "out.wav")
        with open(path, "wb") as f:
            f.write(content)
        out = io.StringIO()
        with redirect_stdout(out):
            rc = hc.tone(path, hz)
        line = out.getvalue().strip()
        self.assertTrue(line.startswith("@@HWTEST|"), line)
        return rc, line

    def test_a_clean_tone_passes(self):
        rc, line = self.check(wav([0] * 4800 + sine(1000, 1.0) + [0] * 4800))
        self.assertEqual(0, rc, line)
        self.assertIn("|PASS|", line)

    def test_the_wrong_frequency_fails(self):
        rc, line = self.check(wav(sine(440, 1.0)))
        self.assertEqual(1, rc)
        self.assertIn("dominant 450 Hz", line)  # nearest 50 Hz bin

    def test_silence_fails(self):
        rc, line = self.check(wav([0] * 48000))
        self.assertEqual(1, rc)
        self.assertIn("all silent", line)

    def test_a_too_short_tone_fails(self):
        rc, _ = self.check(wav(sine(1000, 0.2) + [0] * 48000))
        self.assertEqual(1, rc)

    def test_a_killed_qemu_with_unpatched_sizes_still_reads(self):
        rc, line = self.check(wav(sine(1000, 1.0), data_size=0), 1000)
        self.assertEqual(0, rc, line)

    def test_malformed_files_fail_with_a_reason_and_never_raise(self):
        cases = {
            "empty": b"",
            "not riff": b"RIFX" + b"\0" * 40,
            "no data": wav([])[:36],
            "data before fmt": wav(sine(1000, 0.1), fmt_first=False),
            "short fmt": wav(sine(1000, 0.1), fmt_size=6),
            "zero rate": wav(sine(1000, 0.1), rate=0),
            "absurd rate": wav(sine(1000, 0.1), rate=3_000_000),
            "zero channels": wav(sine(1000, 0.1), ch=0),
            "8-bit": wav(sine(1000, 0.1), bits=8),
            "float": wav(sine(1000, 0.1), tag=3),
            "truncated header": wav(sine(1000, 0.1))[:20],
            "chunk past the end": b"RIFF\0\0\0\0WAVEfmt \xff\xff\xff\x7f" + b"\0" * 8,
        }
        for name, content in cases.items():
            with self.subTest(name):
                rc, line = self.check(content)
                self.assertEqual(1, rc, line)
                self.assertIn("|FAIL|", line)

class PngSize(unittest.TestCase):
    def write(self, content):
        f = tempfile.NamedTemporaryFile(delete=False)
        f.write(content)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_reads_the_ihdr_size(self):
        head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 1280, 720) + b"\x08\x02\0\0\0"
        self.assertEqual((1280, 720), hc.png_size(self.write(head)))

    def test_rejects_what_is_not_a_png(self):
        for content in (b"", b"\x89PNG", b"GIF89a" + b"\0" * 30,
                        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IEND" + b"\0" * 8,
                        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 0, 720)):
            with self.subTest(content=content[:12]):
                with self.assertRaises(ValueError):
                    hc.png_size(self.write(content))

if __name__ == "__main__":
    unittest.main()

def png(w, h, pixel, filters=(0,)):
    """An 8-bit RGB PNG of pixel(x, y) -> (r, g, b), rows filtered in turn with `filters` (0 none, 1 sub, 2 up)."""
    raw, prev = b"", bytes(w * 3)
    for y in range(h):
        line = bytes(c for x in range(w) for c in pixel(x, y))
        f = filters[y % len(filters)]
        if f == 1:
            enc = bytes((line[i] - (line[i - 3] if i >= 3 else 0)) & 0xFF for i in range(len(line)))
        elif f == 2:
            enc = bytes((line[i] - prev[i]) & 0xFF for i in range(len(line)))
        else:
            enc = line
        raw += bytes([f]) + enc
        prev = line
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", __import__("zlib").compress(raw)) + chunk(b"IEND", b""))

class ComposedCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "screen.png")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, content):
        with open(self.path, "wb") as f:
            f.write(content)

    def test_filtered_rows_decode_to_the_pixels(self):
        self.write(png(7, 5, lambda x, y: (x * 30, y * 50, 200), filters=(0, 1, 2)))
        w, h, rows = hc.png_pixels(self.path)
        self.assertEqual((7, 5), (w, h))
        self.assertEqual(bytes([90, 100, 200]), rows[2][9:12])

    def test_the_listed_pixels_match_and_a_wrong_one_is_named(self):
        self.write(png(8, 4, lambda x, y: (255, 0, 0) if x < 4 else (0, 0, 255), filters=(1, 2)))
        size, points = hc.parse_scanout("@@HWTEST-SCANOUT|8x4|1,1,FF0000,speaker-tl;6,2,0000FF,strip-0\n")
        self.assertEqual([], hc.compare(self.path, size, points))
        bad = hc.compare(self.path, size, [(6, 2, 0x00FF00, "badge")])
        self.assertEqual(1, len(bad))
        self.assertIn("badge (6,2) #0000ff not #00ff00", bad[0])

    def test_roomds_scanout_line_is_read_by_its_own_marker_only(self):
        line = "@@HWTEST-SCANOUT-ROOMD|8x4|1,1,1E8E3E,badge-e2e\n"
        self.assertEqual(((8, 4), [(1, 1, 0x1E8E3E, "badge-e2e")]), hc.parse_scanout(line, "@@HWTEST-SCANOUT-ROOMD"))
        with self.assertRaises(ValueError):
            hc.parse_scanout(line)
        self.assertEqual("host.display.roomd-call", hc.SCANOUTS["@@HWTEST-SCANOUT-ROOMD"])

    def test_a_screen_of_another_size_fails(self):
        self.write(png(8, 4, lambda x, y: (0, 0, 0)))
        self.assertIn("8x4", hc.compare(self.path, (1280, 720), [(1, 1, 0, "x")])[0])

    def test_malformed_input_is_refused(self):
        self.write(b"not a png")
        with self.assertRaises(ValueError):
            hc.png_pixels(self.path)
        with self.assertRaises(ValueError):
            hc.parse_scanout("@@HWTEST-SCANOUT|8x4")
