using System.Globalization;
using System.Text;

namespace Room.Devices.Simulated;

/// <summary>
/// A YUV4MPEG2 clip (what ffmpeg writes with -f yuv4mpegpipe): 8-bit 4:2:0 frames, read one after another and from
/// the first again at the end. Only the header's size, rate and chroma are used; frame parameters are skipped.
/// </summary>
public sealed class Y4mClip : IDisposable
{
    private readonly FileStream _file;
    private readonly long _firstFrame;

    private Y4mClip(FileStream file, VideoFormat format, long firstFrame)
    {
        _file = file;
        Format = format;
        _firstFrame = firstFrame;
    }

    /// <summary>The clip's frames as the camera delivers them: I420 at the clip's size and frame rate.</summary>
    public VideoFormat Format { get; }

    /// <exception cref="InvalidDataException">Not a YUV4MPEG2 file, or not 8-bit 4:2:0, or without a size.</exception>
    public static Y4mClip Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var header = ReadLine(file) ?? throw new InvalidDataException($"{path}: empty, not a YUV4MPEG2 clip");
            var fields = header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0] != "YUV4MPEG2")
            {
                throw new InvalidDataException($"{path}: not a YUV4MPEG2 clip (make one with ffmpeg ... -pix_fmt yuv420p -f yuv4mpegpipe)");
            }

            int width = 0, height = 0, fps = 30;
            foreach (var f in fields.Skip(1))
            {
                switch (f[0])
                {
                    case 'W': width = int.Parse(f.AsSpan(1), CultureInfo.InvariantCulture); break;
                    case 'H': height = int.Parse(f.AsSpan(1), CultureInfo.InvariantCulture); break;
                    case 'F' when f[1..].Split(':') is [var n, var d] && int.Parse(d, CultureInfo.InvariantCulture) > 0:
                        fps = (int)Math.Round(double.Parse(n, CultureInfo.InvariantCulture) / double.Parse(d, CultureInfo.InvariantCulture));
                        break;
                    case 'C' when f is not ("C420" or "C420jpeg" or "C420mpeg2" or "C420paldv"):
                        throw new InvalidDataException($"{path}: chroma {f[1..]}; the camera delivers 8-bit 4:2:0 only");
                }
            }

            if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0 || fps is < 1 or > 120)
            {
                throw new InvalidDataException($"{path}: size {width}x{height} at {fps} fps; an even size and 1..120 fps are needed");
            }

            return new Y4mClip(file, new VideoFormat(PixelFormat.I420, width, height, fps), file.Position);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next frame into <paramref name="i420"/> (the frame's size), from the first again after the last.</summary>
    public void ReadFrame(Span<byte> i420)
    {
        if (!SkipFrameHeader(_file))
        {
            _file.Position = _firstFrame;
            if (!SkipFrameHeader(_file))
            {
                throw new InvalidDataException("the clip has no frames");
            }
        }

        _file.ReadExactly(i420[..(Format.Width * Format.Height * 3 / 2)]);
    }

    /// <summary>Skips one "FRAME[ params]\n" line (no allocation); false at the end of the file.</summary>
    private static bool SkipFrameHeader(Stream s)
    {
        int b = s.ReadByte();
        if (b < 0)
        {
            return false;
        }

        for (int n = 1; b != '\n'; n++, b = s.ReadByte())
        {
            if (b < 0 || n > 1024)
            {
                throw new InvalidDataException("a YUV4MPEG2 frame header cut off or longer than 1 KiB");
            }
        }

        return true;
    }

    /// <summary>A header or FRAME line (ASCII up to '\n'), or null at the end of the file.</summary>
    private static string? ReadLine(Stream s)
    {
        var line = new StringBuilder();
        for (int b = s.ReadByte(); b != '\n'; b = s.ReadByte())
        {
            if (b < 0)
            {
                return line.Length == 0 ? null : throw new InvalidDataException("the clip ends inside a header");
            }

            if (line.Length > 1024)
            {
                throw new InvalidDataException("a YUV4MPEG2 header line longer than 1 KiB");
            }

            line.Append((char)b);
        }

        return line.ToString();
    }

    public void Dispose() => _file.Dispose();
}
