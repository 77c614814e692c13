using System.Runtime.InteropServices;
using Room.HwTests.Interop;

namespace Room.HwTests.Gadget;

/// <summary>The gadgetfs controller file (ep0), opened non-blocking so that no wait on it is unbounded.</summary>
public sealed unsafe class GadgetFsEp0 : IGadgetEp0, IDisposable
{
    private readonly int _fd;

    public GadgetFsEp0(string path)
    {
        _fd = Native.Open(path, Native.O_RDWR | Native.O_NONBLOCK | Native.O_CLOEXEC);
        if (_fd < 0)
        {
            throw new IOException($"open {path}: {Native.LastError()}");
        }
    }

    /// <summary>Writes the device's descriptors, which connects it to the host controller.</summary>
    public void Configure(byte[] descriptors)
    {
        fixed (byte* p = descriptors)
        {
            if (Native.Write(_fd, p, (nuint)descriptors.Length) != descriptors.Length)
            {
                throw new IOException("ep0 descriptors: " + Native.LastError());
            }
        }
    }

    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = Native.Read(_fd, p, (nuint)buffer.Length);
            return n < 0 ? -Marshal.GetLastPInvokeError() : (int)n;
        }
    }

    public int Write(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var n = Native.Write(_fd, p, (nuint)data.Length);
            return n < 0 ? -Marshal.GetLastPInvokeError() : (int)n;
        }
    }

    public int Poll(short events, int timeoutMs)
    {
        var pfd = new Native.PollFd { Fd = _fd, Events = events };
        var n = Native.Poll(&pfd, 1, timeoutMs);
        return n > 0 ? pfd.Revents : 0;
    }

    public void Dispose() => Native.Close(_fd);
}
