using Room.Devices.Interop;

namespace Room.Devices.Display;

/// <summary>A CPU-mapped XRGB8888 dumb buffer with its framebuffer: what a CPU compositor draws into and KMS scans out.</summary>
internal sealed unsafe class DumbBuffer : IDisposable
{
    private readonly KmsDevice _card;
    private uint _handle;
    private nint _map;
    private nuint _size;

    public DumbBuffer(KmsDevice card, int width, int height)
    {
        _card = card;
        Width = width;
        Height = height;
        try
        {
            var c = new Drm.CreateDumbArg { Width = (uint)width, Height = (uint)height, Bpp = 32 };
            card.Call(Drm.ModeCreateDumb, &c, $"DRM_IOCTL_MODE_CREATE_DUMB {width}x{height}");
            _handle = c.Handle;
            Stride = (int)c.Pitch;
            _size = (nuint)c.Size;

            var fb = new Drm.FbCmd2 { Width = (uint)width, Height = (uint)height, PixelFormat = Drm.FormatXrgb8888 };
            fb.Handles[0] = _handle;
            fb.Pitches[0] = c.Pitch;
            card.Call(Drm.ModeAddFb2, &fb, "DRM_IOCTL_MODE_ADDFB2 XRGB8888");
            FramebufferId = fb.FbId;

            var m = new Drm.MapDumbArg { Handle = _handle };
            card.Call(Drm.ModeMapDumb, &m, "DRM_IOCTL_MODE_MAP_DUMB");
            _map = Libc.Mmap(0, _size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, card.Fd, (long)m.Offset);
            if (_map == Libc.MapFailed)
            {
                _map = 0;
                throw card.Error(Libc.LastError, "mmap of a dumb buffer");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Bytes between rows (the driver's pitch, at least 4 x width).</summary>
    public int Stride { get; }

    public uint FramebufferId { get; private set; }

    public Span<byte> Pixels => _map == 0 ? [] : new Span<byte>((void*)_map, (int)_size);

    public void Dispose()
    {
        if (_map != 0)
        {
            Libc.Munmap(_map, _size);
            _map = 0;
        }

        if (FramebufferId != 0)
        {
            var id = FramebufferId;
            _card.TryCall(Drm.ModeRmFb, &id);
            FramebufferId = 0;
        }

        if (_handle != 0)
        {
            var h = _handle;
            _card.TryCall(Drm.ModeDestroyDumb, &h);
            _handle = 0;
        }
    }
}
