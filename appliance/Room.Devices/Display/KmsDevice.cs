using Room.Devices.Interop;

namespace Room.Devices.Display;

/// <summary>A connector as KMS reports it: its id, sysfs-style name, state, modes and the encoders that can drive it.</summary>
internal sealed record KmsConnector(uint Id, string Name, uint Connection, uint EncoderId, Drm.ModeInfo[] Modes, uint[] Encoders)
{
    public bool Connected => Connection == Drm.Connected && Modes.Length > 0;
}

/// <summary>
/// The ioctls of one DRM card, each a small call that turns errno into an exception naming the card, the call and
/// the kernel's reason. Enumeration follows libdrm's two-step pattern (ask for counts, then fill arrays).
/// </summary>
internal sealed unsafe class KmsDevice : IDisposable
{
    private readonly FileDescriptor _fd;

    public KmsDevice(string path)
    {
        Path = path;
        _fd = FileDescriptor.OpenOrThrow(path, Libc.O_RDWR, path);
    }

    public string Path { get; }

    public int Fd => _fd.Fd;

    public void Call(nuint request, void* arg, string what)
    {
        var e = Libc.IoctlRetry(Fd, request, arg);
        if (e != 0)
        {
            throw Error(e, what);
        }
    }

    public bool TryCall(nuint request, void* arg) => Libc.IoctlRetry(Fd, request, arg) == 0;

    /// <summary>ENODEV and friends mean the card is gone; other errors mean the request was refused.</summary>
    public Exception Error(int errno, string what)
    {
        var why = $"{what} on {Path}: {Libc.ErrorText(errno)}";
        return errno is Libc.ENODEV or Libc.ENXIO or Libc.EIO or Libc.EBADF
            ? new DeviceUnavailableException(Path, why)
            : new InvalidOperationException(why);
    }

    public bool SetClientCap(ulong cap, ulong value)
    {
        var a = new Drm.GetCapArg { Capability = cap, Value = value };
        return TryCall(Drm.SetClientCap, &a);
    }

    public ulong GetCap(ulong cap)
    {
        var a = new Drm.GetCapArg { Capability = cap };
        return TryCall(Drm.GetCap, &a) ? a.Value : 0;
    }

    public (uint[] Crtcs, uint[] Connectors) Resources()
    {
        var r = new Drm.CardRes();
        Call(Drm.ModeGetResources, &r, "DRM_IOCTL_MODE_GETRESOURCES");
        var crtcs = new uint[r.CountCrtcs];
        var connectors = new uint[r.CountConnectors];
        fixed (uint* c = crtcs, k = connectors)
        {
            r = new Drm.CardRes { CountCrtcs = (uint)crtcs.Length, CountConnectors = (uint)connectors.Length, CrtcIdPtr = (ulong)c, ConnectorIdPtr = (ulong)k };
            Call(Drm.ModeGetResources, &r, "DRM_IOCTL_MODE_GETRESOURCES");
        }

        return (crtcs, connectors);
    }

    /// <summary>Reads a connector; asking for its modes makes the kernel probe it again (what a hot-plug needs).</summary>
    public KmsConnector Connector(uint id)
    {
        // The counts can grow between the two calls (a screen plugged in meanwhile): ask again until they hold.
        for (var attempt = 0; ; attempt++)
        {
            var c = new Drm.GetConnectorArg { ConnectorId = id };
            Call(Drm.ModeGetConnector, &c, "DRM_IOCTL_MODE_GETCONNECTOR");
            var modes = new Drm.ModeInfo[c.CountModes];
            var encoders = new uint[c.CountEncoders];
            fixed (Drm.ModeInfo* m = modes)
            fixed (uint* e = encoders)
            {
                var full = new Drm.GetConnectorArg { ConnectorId = id, CountModes = (uint)modes.Length, ModesPtr = (ulong)m, CountEncoders = (uint)encoders.Length, EncodersPtr = (ulong)e };
                Call(Drm.ModeGetConnector, &full, "DRM_IOCTL_MODE_GETCONNECTOR");
                if ((full.CountModes > modes.Length || full.CountEncoders > encoders.Length) && attempt < 3)
                {
                    continue;
                }

                return new KmsConnector(id, $"{Drm.ConnectorTypeName(full.ConnectorType)}-{full.ConnectorTypeId}", full.Connection, full.EncoderId,
                    modes[..(int)Math.Min(full.CountModes, (uint)modes.Length)], encoders[..(int)Math.Min(full.CountEncoders, (uint)encoders.Length)]);
            }
        }
    }

    public Drm.GetEncoderArg Encoder(uint id)
    {
        var e = new Drm.GetEncoderArg { EncoderId = id };
        Call(Drm.ModeGetEncoder, &e, "DRM_IOCTL_MODE_GETENCODER");
        return e;
    }

    public uint[] Planes()
    {
        var r = new Drm.GetPlaneResArg();
        Call(Drm.ModeGetPlaneResources, &r, "DRM_IOCTL_MODE_GETPLANERESOURCES");
        var ids = new uint[r.CountPlanes];
        fixed (uint* p = ids)
        {
            r = new Drm.GetPlaneResArg { CountPlanes = (uint)ids.Length, PlaneIdPtr = (ulong)p };
            Call(Drm.ModeGetPlaneResources, &r, "DRM_IOCTL_MODE_GETPLANERESOURCES");
        }

        return ids;
    }

    public Drm.GetPlaneArg Plane(uint id)
    {
        var p = new Drm.GetPlaneArg { PlaneId = id };
        Call(Drm.ModeGetPlane, &p, "DRM_IOCTL_MODE_GETPLANE");
        return p;
    }

    /// <summary>An object's properties by name, with their current values.</summary>
    public Dictionary<string, (uint Id, ulong Value)> Properties(uint objectId, uint objectType)
    {
        var a = new Drm.ObjGetPropertiesArg { ObjId = objectId, ObjType = objectType };
        Call(Drm.ModeObjGetProperties, &a, "DRM_IOCTL_MODE_OBJ_GETPROPERTIES");
        var ids = new uint[a.CountProps];
        var values = new ulong[a.CountProps];
        fixed (uint* i = ids)
        fixed (ulong* v = values)
        {
            a = new Drm.ObjGetPropertiesArg { ObjId = objectId, ObjType = objectType, CountProps = (uint)ids.Length, PropsPtr = (ulong)i, PropValuesPtr = (ulong)v };
            Call(Drm.ModeObjGetProperties, &a, "DRM_IOCTL_MODE_OBJ_GETPROPERTIES");
        }

        var result = new Dictionary<string, (uint, ulong)>(StringComparer.Ordinal);
        for (var k = 0; k < Math.Min(a.CountProps, (uint)ids.Length); k++)
        {
            var p = new Drm.GetPropertyArg { PropId = ids[k] };
            Call(Drm.ModeGetProperty, &p, "DRM_IOCTL_MODE_GETPROPERTY");
            result[Drm.Text(p.Name, 32)] = (ids[k], values[k]);
        }

        return result;
    }

    public uint CreateBlob(void* data, int length)
    {
        var b = new Drm.CreateBlobArg { Data = (ulong)data, Length = (uint)length };
        Call(Drm.ModeCreatePropBlob, &b, "DRM_IOCTL_MODE_CREATEPROPBLOB");
        return b.BlobId;
    }

    public void DestroyBlob(uint id) => TryCall(Drm.ModeDestroyPropBlob, &id);

    /// <summary>One atomic commit of (object, property, value) triples, grouped by object as the kernel wants them.</summary>
    public int Atomic(ReadOnlySpan<(uint Object, uint Property, ulong Value)> sets, uint flags)
    {
        Span<uint> objs = stackalloc uint[sets.Length];
        Span<uint> counts = stackalloc uint[sets.Length];
        Span<uint> props = stackalloc uint[sets.Length];
        Span<ulong> values = stackalloc ulong[sets.Length];
        var n = 0;
        for (var i = 0; i < sets.Length; i++)
        {
            if (n == 0 || objs[n - 1] != sets[i].Object)
            {
                objs[n++] = sets[i].Object;
            }

            counts[n - 1]++;
            props[i] = sets[i].Property;
            values[i] = sets[i].Value;
        }

        fixed (uint* o = objs, c = counts, p = props)
        fixed (ulong* v = values)
        {
            var a = new Drm.AtomicArg { Flags = flags, CountObjs = (uint)n, ObjsPtr = (ulong)o, CountPropsPtr = (ulong)c, PropsPtr = (ulong)p, PropValuesPtr = (ulong)v };
            return Libc.IoctlRetry(Fd, Drm.ModeAtomic, &a);
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a flip-complete event; false on timeout.</summary>
    public bool WaitFlip(int timeoutMs)
    {
        var pfd = new Libc.PollFd { Fd = Fd, Events = Libc.POLLIN };
        var deadline = Environment.TickCount64 + timeoutMs;
        var buffer = stackalloc byte[1024];
        while (true)
        {
            var left = (int)Math.Max(0, deadline - Environment.TickCount64);
            var r = Libc.Poll(&pfd, 1, left);
            if (r < 0 && Libc.LastError == Libc.EINTR)
            {
                continue;
            }

            if (r < 0)
            {
                throw Error(Libc.LastError, "poll");
            }

            if (r == 0)
            {
                return false;
            }

            if ((pfd.REvents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
            {
                throw Error(Libc.ENODEV, "poll for the flip event");
            }

            // Events are read whole; the buffer holds several.
            var got = Libc.Read(Fd, buffer, 1024);
            if (got < 0)
            {
                var e = Libc.LastError;
                if (e is Libc.EINTR or Libc.EAGAIN)
                {
                    continue;
                }

                throw Error(e, "read of DRM events");
            }

            for (nint at = 0; at + sizeof(Drm.EventVblank) <= got;)
            {
                var ev = (Drm.EventVblank*)(buffer + at);
                if (ev->Type == Drm.EventFlipComplete)
                {
                    return true;
                }

                at += Math.Max(8, (int)ev->Length);
            }
        }
    }

    public void Dispose() => _fd.Dispose();
}
