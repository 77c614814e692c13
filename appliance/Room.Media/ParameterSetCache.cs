namespace Room.Media;

/// <summary>
/// Keeps H.264 SPS/PPS in band for hardware encoders. V4L2 M2M encoders (FFmpeg asks for "header mode separate",
/// and the option API has no repeat-headers switch) and some VAAPI drivers emit the parameter sets once, in a packet
/// of their own, while WebRTC receivers need them in front of every IDR. This remembers the last SPS/PPS seen,
/// swallows header-only packets, and prefixes any IDR access unit that lacks them. Buffers grow only when a larger
/// access unit arrives; nothing is allocated per frame in the steady state.
/// </summary>
internal sealed class ParameterSetCache
{
    /// <summary>Parameter sets larger than this together are not kept (no real encoder comes near).</summary>
    public const int MaxHeaderBytes = 4096;

    private readonly byte[] _headers = new byte[MaxHeaderBytes];
    private int _headerLength;
    private byte[] _out = new byte[64 << 10];

    /// <summary>Whether SPS/PPS have been seen.</summary>
    public bool HasHeaders => _headerLength > 0;

    /// <summary>
    /// Returns the access unit to send (the input, or the input with SPS/PPS in front), or empty when the packet carried
    /// only parameter sets. Sets <paramref name="keyframe"/> when the unit holds an IDR slice.
    /// </summary>
    public ReadOnlySpan<byte> Process(ReadOnlySpan<byte> annexB, scoped ref bool keyframe)
    {
        bool sps = false, pps = false, vcl = false, idr = false;
        var newHeaders = 0;
        var pos = 0;
        while (NextNal(annexB, ref pos, out var start, out var end))
        {
            if (end <= start)
            {
                continue;
            }

            var type = annexB[start] & 0x1f;
            switch (type)
            {
                case 7:
                case 8:
                    sps |= type == 7;
                    pps |= type == 8;
                    var nal = annexB[start..end];
                    if (newHeaders == 0)
                    {
                        _headerLength = 0; // a new set replaces the old one
                    }

                    if (_headerLength + 4 + nal.Length <= _headers.Length)
                    {
                        _headers[_headerLength] = 0;
                        _headers[_headerLength + 1] = 0;
                        _headers[_headerLength + 2] = 0;
                        _headers[_headerLength + 3] = 1;
                        nal.CopyTo(_headers.AsSpan(_headerLength + 4));
                        _headerLength += 4 + nal.Length;
                    }

                    newHeaders++;
                    break;
                case >= 1 and <= 5:
                    vcl = true;
                    idr |= type == 5;
                    break;
            }
        }

        if (!vcl)
        {
            return [];
        }

        keyframe |= idr;
        if (!idr || (sps && pps) || _headerLength == 0)
        {
            return annexB;
        }

        var total = _headerLength + annexB.Length;
        if (_out.Length < total)
        {
            _out = new byte[Math.Max(total, _out.Length * 2)];
        }

        _headers.AsSpan(0, _headerLength).CopyTo(_out);
        annexB.CopyTo(_out.AsSpan(_headerLength));
        return _out.AsSpan(0, total);
    }

    /// <summary>Finds the next NAL unit after a start code at or after <paramref name="pos"/>; [start, end) is its payload.</summary>
    private static bool NextNal(ReadOnlySpan<byte> data, ref int pos, out int start, out int end)
    {
        start = end = 0;
        var sc = FindStartCode(data, pos);
        if (sc < 0)
        {
            return false;
        }

        start = sc + 3;
        if (start >= data.Length)
        {
            pos = data.Length;
            return false;
        }

        var next = FindStartCode(data, start);
        end = next < 0 ? data.Length : next;
        pos = end;

        // A 4-byte start code leaves a zero before the next one: not part of this NAL.
        while (end > start && data[end - 1] == 0 && next >= 0)
        {
            end--;
        }

        return true;
    }

    private static int FindStartCode(ReadOnlySpan<byte> data, int from)
    {
        for (var i = from; i + 2 < data.Length; i++)
        {
            if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)
            {
                return i;
            }
        }

        return -1;
    }
}
