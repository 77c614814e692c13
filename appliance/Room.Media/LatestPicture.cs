namespace Room.Media;

/// <summary>Where the latest picture of a stream can be copied from (a decoder's output, a camera's frames), from any thread.</summary>
public interface ILatestPicture
{
    /// <summary>Pictures delivered so far: unchanged means the latest picture is the one copied before.</summary>
    long Pictures { get; }

    /// <summary>
    /// Copies the latest picture (tightly packed I420) into <paramref name="destination"/>; false when there is none
    /// yet or <paramref name="destination"/> is too small (then <paramref name="width"/> and <paramref name="height"/>
    /// say what it needs).
    /// </summary>
    bool TryCopyLatestI420(Span<byte> destination, out int width, out int height);
}

/// <summary>
/// The latest I420 picture of a stream, written by its producer (our own camera as the send pipeline sees it) and
/// copied out by a reader (the room display's self-view). Its buffer is reallocated only when the size changes.
/// </summary>
public sealed class LatestPicture : ILatestPicture
{
    private readonly Lock _gate = new();
    private byte[] _picture = [];
    private int _width, _height;
    private long _pictures;

    public long Pictures => Interlocked.Read(ref _pictures);

    /// <summary>Keeps a copy of <paramref name="i420"/> (a <paramref name="width"/> x <paramref name="height"/> I420 picture).</summary>
    /// <exception cref="ArgumentException">The bytes are not such a picture.</exception>
    public void Write(ReadOnlySpan<byte> i420, int width, int height)
    {
        var size = I420Size(width, height);
        if (size < 0 || i420.Length < size)
        {
            throw new ArgumentException($"{i420.Length} bytes are not an I420 picture of {width}x{height}", nameof(i420));
        }

        lock (_gate)
        {
            if (_picture.Length != size)
            {
                _picture = new byte[size]; // only when the size changes
            }

            i420[..size].CopyTo(_picture);
            (_width, _height) = (width, height);
            _pictures++;
        }
    }

    public bool TryCopyLatestI420(Span<byte> destination, out int width, out int height)
    {
        lock (_gate)
        {
            (width, height) = (_width, _height);
            if (_width == 0 || destination.Length < _picture.Length)
            {
                return false;
            }

            _picture.CopyTo(destination);
            return true;
        }
    }

    /// <summary>A copy of the latest picture in a new array (snapshots), or null before the first one.</summary>
    public (byte[]? Picture, int Width, int Height) Copy()
    {
        lock (_gate)
        {
            return _width == 0 ? (null, 0, 0) : ((byte[])_picture.Clone(), _width, _height);
        }
    }

    /// <summary>Forgets the picture (the stream stopped): readers see none until the next <see cref="Write"/>.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            (_width, _height) = (0, 0);
            _pictures++;
        }
    }

    /// <summary>Bytes of a tightly packed I420 picture, or -1 for a size that is not a picture.</summary>
    public static int I420Size(int width, int height) =>
        width is <= 0 or > Display.VideoPicture.MaxDimension || height is <= 0 or > Display.VideoPicture.MaxDimension
            ? -1
            : (width * height) + (2 * ((width + 1) / 2) * ((height + 1) / 2));
}
