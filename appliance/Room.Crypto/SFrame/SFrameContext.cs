namespace Room.Crypto.SFrame;

/// <summary>
/// A sender or receiver SFrame context: keys by KID, a send counter per key, and a replay window per key.
/// Not thread-safe; use one per media stream direction.
/// </summary>
public sealed class SFrameContext : IDisposable
{
    private readonly Dictionary<ulong, Entry> _keys = [];

    public SFrameContext(SFrameCipherSuite suite)
    {
        _ = SFrameSuiteParameters.For(suite);
        Suite = suite;
    }

    public SFrameCipherSuite Suite { get; }

    /// <summary>Derives and installs the key for <paramref name="keyId"/>, replacing any earlier one.</summary>
    public void AddKey(ulong keyId, ReadOnlySpan<byte> baseKey)
    {
        RemoveKey(keyId);
        _keys[keyId] = new Entry(new SFrameKey(Suite, keyId, baseKey));
    }

    public bool RemoveKey(ulong keyId)
    {
        if (_keys.Remove(keyId, out var e))
        {
            e.Key.Dispose();
            return true;
        }

        return false;
    }

    public bool HasKey(ulong keyId) => _keys.ContainsKey(keyId);

    /// <summary>Encrypts with the next counter of <paramref name="keyId"/>. Returns the bytes written.</summary>
    public int Encrypt(ulong keyId, ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        if (!_keys.TryGetValue(keyId, out var e))
        {
            throw new SFrameException("unknown SFrame KID");
        }

        if (e.NextCounter == ulong.MaxValue)
        {
            throw new SFrameException("SFrame counter exhausted; rekey");
        }

        return e.Key.Encrypt(e.NextCounter++, metadata, plaintext, output);
    }

    /// <summary>Decrypts a frame, choosing the key from its KID. Rejects replays within a 64-frame window.</summary>
    public int Decrypt(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> sframe, Span<byte> plaintext)
    {
        var header = SFrameHeader.Decode(sframe, out int hlen);
        if (!_keys.TryGetValue(header.KeyId, out var e))
        {
            throw new SFrameException("unknown SFrame KID");
        }

        if (e.IsReplay(header.Counter))
        {
            throw new SFrameException("SFrame counter replayed or too old");
        }

        int n = e.Key.DecryptBody(header, hlen, metadata, sframe, plaintext);
        e.Accept(header.Counter);
        return n;
    }

    /// <summary>Maximum ciphertext expansion.</summary>
    public int MaxOverhead => SFrameHeader.MaxSize + SFrameSuiteParameters.For(Suite).TagSize;

    public void Dispose()
    {
        foreach (var e in _keys.Values)
        {
            e.Key.Dispose();
        }

        _keys.Clear();
    }

    private sealed class Entry(SFrameKey key)
    {
        public SFrameKey Key { get; } = key;

        public ulong NextCounter { get; set; }

        private ulong _highest;
        private ulong _window;
        private bool _any;

        public bool IsReplay(ulong ctr)
        {
            if (!_any || ctr > _highest)
            {
                return false;
            }

            ulong diff = _highest - ctr;
            return diff >= 64 || (_window & (1UL << (int)diff)) != 0;
        }

        public void Accept(ulong ctr)
        {
            if (!_any)
            {
                _any = true;
                _highest = ctr;
                _window = 1;
            }
            else if (ctr > _highest)
            {
                ulong shift = ctr - _highest;
                _window = shift >= 64 ? 1 : (_window << (int)shift) | 1;
                _highest = ctr;
            }
            else
            {
                _window |= 1UL << (int)(_highest - ctr);
            }
        }
    }
}
