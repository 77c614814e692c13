using System.Runtime.InteropServices;

namespace Room.HwTests.Lab;

/// <summary>
/// Reads a card's mixer controls through libasound's control interface (snd_ctl_elem_read by name), not the simple
/// mixer Room.Devices uses: an independent read-back of what a volume or mute call did to the card.
/// </summary>
internal sealed unsafe partial class AlsaControl : IDisposable
{
    private const string Lib = "libasound.so.2";
    private const int IfaceMixer = 2; // SND_CTL_ELEM_IFACE_MIXER
    private nint _ctl;

    private AlsaControl(nint ctl) => _ctl = ctl;

    /// <summary>Opens "hw:CARD=id"; null when the card does not exist (or a board has no libasound).</summary>
    public static AlsaControl? TryOpen(string card)
    {
        try
        {
            return CtlOpen(out var ctl, card, 0) < 0 ? null : new AlsaControl(ctl);
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The control's integer (or boolean) values per channel and its range (min = max = 0 for booleans).</summary>
    public (long[] Values, long Min, long Max) Read(string name)
    {
        ObjectDisposedException.ThrowIf(_ctl == 0, this);
        nint id = 0, info = 0, value = 0;
        try
        {
            Check(ElemIdMalloc(out id), "snd_ctl_elem_id_malloc");
            ElemIdSetInterface(id, IfaceMixer);
            ElemIdSetName(id, name);
            Check(ElemInfoMalloc(out info), "snd_ctl_elem_info_malloc");
            ElemInfoSetId(info, id);
            Check(ElemInfo(_ctl, info), $"snd_ctl_elem_info({name})");
            var type = ElemInfoGetType(info);
            var count = (int)ElemInfoGetCount(info);
            long min = 0, max = 0;
            if (type == 2) // SND_CTL_ELEM_TYPE_INTEGER
            {
                min = ElemInfoGetMin(info);
                max = ElemInfoGetMax(info);
            }

            Check(ElemValueMalloc(out value), "snd_ctl_elem_value_malloc");
            ElemValueSetId(value, id);
            Check(ElemRead(_ctl, value), $"snd_ctl_elem_read({name})");
            var values = new long[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = type == 1 ? ElemValueGetBoolean(value, (uint)i) : ElemValueGetInteger(value, (uint)i);
            }

            return (values, min, max);
        }
        finally
        {
            if (value != 0)
            {
                ElemValueFree(value);
            }

            if (info != 0)
            {
                ElemInfoFree(info);
            }

            if (id != 0)
            {
                ElemIdFree(id);
            }
        }
    }

    public void Dispose()
    {
        var c = Interlocked.Exchange(ref _ctl, 0);
        if (c != 0)
        {
            _ = CtlClose(c);
        }
    }

    private static void Check(int err, string what)
    {
        if (err < 0)
        {
            throw new InvalidOperationException($"{what} failed: {Marshal.PtrToStringUTF8(StrError(err))}");
        }
    }

    [LibraryImport(Lib, EntryPoint = "snd_ctl_open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int CtlOpen(out nint ctl, string name, int mode);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_close")]
    private static partial int CtlClose(nint ctl);

    [LibraryImport(Lib, EntryPoint = "snd_strerror")]
    private static partial nint StrError(int err);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_id_malloc")]
    private static partial int ElemIdMalloc(out nint id);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_id_free")]
    private static partial void ElemIdFree(nint id);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_id_set_interface")]
    private static partial void ElemIdSetInterface(nint id, int iface);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_id_set_name", StringMarshalling = StringMarshalling.Utf8)]
    private static partial void ElemIdSetName(nint id, string name);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_malloc")]
    private static partial int ElemInfoMalloc(out nint info);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_free")]
    private static partial void ElemInfoFree(nint info);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_set_id")]
    private static partial void ElemInfoSetId(nint info, nint id);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info")]
    private static partial int ElemInfo(nint ctl, nint info);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_get_type")]
    private static partial int ElemInfoGetType(nint info);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_get_count")]
    private static partial uint ElemInfoGetCount(nint info);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_get_min")]
    private static partial CLong ElemInfoGetMinRaw(nint info);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_info_get_max")]
    private static partial CLong ElemInfoGetMaxRaw(nint info);

    private static long ElemInfoGetMin(nint info) => ElemInfoGetMinRaw(info).Value;

    private static long ElemInfoGetMax(nint info) => ElemInfoGetMaxRaw(info).Value;

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_value_malloc")]
    private static partial int ElemValueMalloc(out nint value);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_value_free")]
    private static partial void ElemValueFree(nint value);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_value_set_id")]
    private static partial void ElemValueSetId(nint value, nint id);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_read")]
    private static partial int ElemRead(nint ctl, nint value);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_value_get_boolean")]
    private static partial int ElemValueGetBoolean(nint value, uint idx);

    [LibraryImport(Lib, EntryPoint = "snd_ctl_elem_value_get_integer")]
    private static partial CLong ElemValueGetIntegerRaw(nint value, uint idx);

    private static long ElemValueGetInteger(nint value, uint idx) => ElemValueGetIntegerRaw(value, idx).Value;
}
