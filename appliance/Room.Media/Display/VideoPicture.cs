namespace Room.Media.Display;

/// <summary>How a picture's bytes are laid out.</summary>
public enum PictureFormat
{
    /// <summary>Planar 4:2:0 (Y, then U, then V; chroma planes (W+1)/2 x (H+1)/2), tightly packed as <see cref="VideoDecoder.Picture"/>.</summary>
    I420,

    /// <summary>32-bit B, G, R, X bytes per pixel (DRM's XRGB8888 on little-endian), rows <see cref="VideoPicture.Stride"/> apart.</summary>
    Bgrx32,
}

/// <summary>
/// A picture to compose: a decoded far-end frame, our own camera, or shared content. It only refers to the caller's
/// bytes (no copy); they must stay unchanged during <see cref="RoomCompositor.Compose"/>.
/// </summary>
public readonly record struct VideoPicture(ReadOnlyMemory<byte> Data, int Width, int Height, PictureFormat Format = PictureFormat.I420, int Stride = 0)
{
    /// <summary>Pictures larger than this in either dimension are refused (as the decoder refuses them).</summary>
    public const int MaxDimension = 8192;

    /// <summary>No picture (video off, not decoded yet): the tile shows the name's initial instead.</summary>
    public bool IsEmpty => Data.IsEmpty && Width == 0 && Height == 0;

    /// <summary>Bytes between rows of the first plane (Y or BGRX).</summary>
    public int RowBytes => Stride > 0 ? Stride : Format == PictureFormat.Bgrx32 ? Width * 4 : Width;

    /// <summary>The bytes this picture needs, or why it is not a picture; null when it is fine (or empty).</summary>
    public string? Problem()
    {
        if (IsEmpty)
        {
            return null;
        }

        if (Width is <= 0 or > MaxDimension || Height is <= 0 or > MaxDimension)
        {
            return $"{Width}x{Height} is not a picture size (1..{MaxDimension})";
        }

        long need;
        if (Format == PictureFormat.I420)
        {
            if (Stride != 0 && Stride != Width)
            {
                return $"I420 pictures are tightly packed: stride {Stride} for width {Width}";
            }

            long cw = (Width + 1) / 2, ch = (Height + 1) / 2;
            need = ((long)Width * Height) + (2 * cw * ch);
        }
        else if (Format == PictureFormat.Bgrx32)
        {
            if (RowBytes < Width * 4)
            {
                return $"BGRX stride {RowBytes} is less than 4 x width {Width}";
            }

            need = ((long)RowBytes * (Height - 1)) + (Width * 4L);
        }
        else
        {
            return $"unknown picture format {(int)Format}";
        }

        return Data.Length < need ? $"{Format} {Width}x{Height} needs {need} bytes, got {Data.Length}" : null;
    }
}
