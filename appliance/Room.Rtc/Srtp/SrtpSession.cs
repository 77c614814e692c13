using System.Buffers.Binary;
using System.Security.Cryptography;
using Room.Rtc.Rtp;

namespace Room.Rtc.Srtp;

/// <summary>SRTP protection profiles Room negotiates (RFC 5764 4.1.2, RFC 7714 14.2): the DTLS-SRTP profile numbers.</summary>
public enum SrtpProfile
{
    AesCm128HmacSha1Tag80 = 0x0001,
    AeadAes128Gcm = 0x0007,
}

public static class SrtpProfiles
{
    public static int MasterKeyLength(SrtpProfile profile) => 16;

    public static int MasterSaltLength(SrtpProfile profile) => profile == SrtpProfile.AeadAes128Gcm ? 12 : 14;

    /// <summary>Bytes an SRTP packet grows by when protected.</summary>
    public static int RtpOverhead(SrtpProfile profile) => profile == SrtpProfile.AeadAes128Gcm ? 16 : 10;

    /// <summary>Bytes an SRTCP packet grows by when protected (tag and the E|index word).</summary>
    public static int RtcpOverhead(SrtpProfile profile) => profile == SrtpProfile.AeadAes128Gcm ? 20 : 14;
}

/// <summary>
/// One direction of SRTP and SRTCP (RFC 3711, RFC 7714) for every SSRC of a session, keyed by one master key.
/// Packets are protected and unprotected in place; nothing is allocated per packet (state for a new SSRC is allocated
/// once, after the packet that introduces it has authenticated, and the number of SSRCs is bounded).
/// </summary>
public sealed class SrtpSession : IDisposable
{
    /// <summary>A hostile peer cannot make us track more SSRCs than this.</summary>
    public const int MaxStreams = 256;
    private const int ReplayWindow = 128;

    private readonly SrtpProfile _profile;
    private readonly AesCounterMode? _rtpCtr, _rtcpCtr;
    private readonly IncrementalHash? _rtpHmac, _rtcpHmac;
    private readonly GcmCipher? _rtpGcm, _rtcpGcm;
    private readonly byte[] _rtpSalt, _rtcpSalt;
    private readonly Dictionary<uint, StreamState> _streams = [];
    private readonly byte[] _mac = new byte[20];

    public SrtpSession(SrtpProfile profile, ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt)
    {
        if (masterKey.Length != SrtpProfiles.MasterKeyLength(profile)) throw new ArgumentException("bad master key length", nameof(masterKey));
        if (masterSalt.Length != SrtpProfiles.MasterSaltLength(profile)) throw new ArgumentException("bad master salt length", nameof(masterSalt));
        _profile = profile;
        int saltLength = masterSalt.Length;
        Span<byte> key = stackalloc byte[16];
        Span<byte> auth = stackalloc byte[20];
        _rtpSalt = new byte[saltLength];
        _rtcpSalt = new byte[saltLength];
        using (var kdf = new AesCounterMode(masterKey))
        {
            Derive(kdf, masterSalt, 0x00, key);
            Derive(kdf, masterSalt, 0x02, _rtpSalt);
            if (profile == SrtpProfile.AeadAes128Gcm)
            {
                _rtpGcm = new GcmCipher(key);
            }
            else
            {
                _rtpCtr = new AesCounterMode(key);
                Derive(kdf, masterSalt, 0x01, auth);
                _rtpHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, auth);
            }
            Derive(kdf, masterSalt, 0x03, key);
            Derive(kdf, masterSalt, 0x05, _rtcpSalt);
            if (profile == SrtpProfile.AeadAes128Gcm)
            {
                _rtcpGcm = new GcmCipher(key);
            }
            else
            {
                _rtcpCtr = new AesCounterMode(key);
                Derive(kdf, masterSalt, 0x04, auth);
                _rtcpHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, auth);
            }
        }
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(auth);
    }

    /// <summary>For test vectors that give session keys directly (RFC 7714 section 16/17): the same keys both ways.</summary>
    internal SrtpSession(SrtpProfile profile, ReadOnlySpan<byte> sessionKey, ReadOnlySpan<byte> sessionSalt, ReadOnlySpan<byte> sessionAuthKey, bool sessionKeysGiven)
    {
        _ = sessionKeysGiven;
        _profile = profile;
        _rtpSalt = sessionSalt.ToArray();
        _rtcpSalt = sessionSalt.ToArray();
        if (profile == SrtpProfile.AeadAes128Gcm)
        {
            _rtpGcm = new GcmCipher(sessionKey);
            _rtcpGcm = new GcmCipher(sessionKey);
        }
        else
        {
            _rtpCtr = new AesCounterMode(sessionKey);
            _rtcpCtr = new AesCounterMode(sessionKey);
            _rtpHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, sessionAuthKey);
            _rtcpHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, sessionAuthKey);
        }
    }

    public SrtpProfile Profile => _profile;

    /// <summary>RFC 3711 4.3.1 key derivation with key_derivation_rate 0 (r = 0): AES-CM(master key, (label || 0^48) XOR salt).</summary>
    internal static void Derive(AesCounterMode kdf, ReadOnlySpan<byte> masterSalt, byte label, Span<byte> output)
    {
        Span<byte> iv = stackalloc byte[16];
        iv.Clear();
        masterSalt.CopyTo(iv); // a 12-byte (GCM) salt is padded with zeros to 14 (RFC 7714 11)
        iv[7] ^= label;
        output.Clear();
        kdf.Apply(iv, output);
    }

    internal static void DeriveForTest(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt, byte label, Span<byte> output)
    {
        using var kdf = new AesCounterMode(masterKey);
        Derive(kdf, masterSalt, label, output);
    }

    private sealed class StreamState
    {
        // Receive side (RFC 3711 3.3.1): highest authenticated index and a replay window below it.
        public bool Initialized;
        public ulong HighestIndex;
        public UInt128 Window;
        // Send side.
        public bool SendInitialized;
        public ulong SendIndex;
        public uint SrtcpSendIndex;
        public bool RtcpInitialized;
        public uint RtcpHighest;
        public UInt128 RtcpWindow;
    }

    private StreamState? Lookup(uint ssrc) => _streams.GetValueOrDefault(ssrc);

    private RtcError GetOrAdd(uint ssrc, out StreamState state)
    {
        if (_streams.TryGetValue(ssrc, out state!)) return RtcError.None;
        if (_streams.Count >= MaxStreams) return RtcError.TooLarge;
        state = new StreamState();
        _streams[ssrc] = state;
        return RtcError.None;
    }

    /// <summary>Estimates the 48-bit packet index of <paramref name="seq"/> from the highest one seen (RFC 3711 appendix A).</summary>
    internal static ulong EstimateIndex(ulong highest, ushort seq)
    {
        uint roc = (uint)(highest >> 16);
        ushort sl = (ushort)highest;
        uint v = roc;
        if (sl < 32768)
        {
            if (seq - sl > 32768 && roc > 0) v = roc - 1;
        }
        else if (sl - 32768 > seq)
        {
            v = roc + 1;
        }
        return ((ulong)v << 16) | seq;
    }

    /// <summary>
    /// Protects the RTP packet in <c>buffer[..length]</c> in place; the buffer needs <see cref="SrtpProfiles.RtpOverhead"/> spare bytes.
    /// </summary>
    public RtcError ProtectRtp(Span<byte> buffer, int length, out int protectedLength)
    {
        protectedLength = 0;
        var error = RtpHeader.TryParse(buffer[..length], false, out var header);
        if (error != RtcError.None) return error;
        int tagLength = SrtpProfiles.RtpOverhead(_profile);
        if (buffer.Length < length + tagLength) return RtcError.TooLarge;
        error = GetOrAdd(header.Ssrc, out var s);
        if (error != RtcError.None) return error;
        ulong index;
        if (!s.SendInitialized)
        {
            index = header.SequenceNumber;
            s.SendInitialized = true;
        }
        else
        {
            index = EstimateIndex(s.SendIndex, header.SequenceNumber);
        }
        if (index > s.SendIndex || s.SendIndex == 0) s.SendIndex = Math.Max(index, s.SendIndex);
        uint roc = (uint)(index >> 16);
        int hl = header.HeaderLength;
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            GcmRtpNonce(nonce, header.Ssrc, index);
            var payload = buffer[hl..length];
            _rtpGcm!.Encrypt(nonce, payload, buffer.Slice(length, 16), buffer[..hl]);
            protectedLength = length + 16;
        }
        else
        {
            Span<byte> iv = stackalloc byte[16];
            CtrIv(iv, _rtpSalt, header.Ssrc, index);
            _rtpCtr!.Apply(iv, buffer[hl..length]);
            Span<byte> rocBytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(rocBytes, roc);
            _rtpHmac!.AppendData(buffer[..length]);
            _rtpHmac.AppendData(rocBytes);
            _rtpHmac.GetHashAndReset(_mac);
            _mac.AsSpan(0, 10).CopyTo(buffer.Slice(length, 10));
            protectedLength = length + 10;
        }
        return RtcError.None;
    }

    /// <summary>Authenticates, replay-checks and decrypts the SRTP packet in <c>buffer[..length]</c> in place.</summary>
    public RtcError UnprotectRtp(Span<byte> buffer, int length, out int plainLength)
    {
        plainLength = 0;
        int tagLength = SrtpProfiles.RtpOverhead(_profile);
        if (length < RtpHeader.FixedLength + tagLength) return RtcError.Truncated;
        var error = RtpHeader.TryParse(buffer[..(length - tagLength)], false, out var header);
        if (error != RtcError.None) return error;
        var state = Lookup(header.Ssrc);
        if (state is null && _streams.Count >= MaxStreams) return RtcError.TooLarge;
        ulong index = state is { Initialized: true } ? EstimateIndex(state.HighestIndex, header.SequenceNumber) : header.SequenceNumber;
        if (state is { Initialized: true })
        {
            error = CheckReplay(state.HighestIndex, state.Window, index);
            if (error != RtcError.None) return error;
        }
        int hl = header.HeaderLength;
        int end = length - tagLength;
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            GcmRtpNonce(nonce, header.Ssrc, index);
            var payload = buffer[hl..end];
            if (!_rtpGcm!.TryDecrypt(nonce, payload, buffer.Slice(end, 16), buffer[..hl])) return RtcError.AuthenticationFailed;
        }
        else
        {
            Span<byte> rocBytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(rocBytes, (uint)(index >> 16));
            _rtpHmac!.AppendData(buffer[..end]);
            _rtpHmac.AppendData(rocBytes);
            _rtpHmac.GetHashAndReset(_mac);
            if (!CryptographicOperations.FixedTimeEquals(_mac.AsSpan(0, 10), buffer.Slice(end, 10))) return RtcError.AuthenticationFailed;
            Span<byte> iv = stackalloc byte[16];
            CtrIv(iv, _rtpSalt, header.Ssrc, index);
            _rtpCtr!.Apply(iv, buffer[hl..end]);
        }
        if (state is null)
        {
            error = GetOrAdd(header.Ssrc, out state);
            if (error != RtcError.None) return error;
        }
        if (!state.Initialized)
        {
            state.Initialized = true;
            state.HighestIndex = index;
            state.Window = 1;
        }
        else
        {
            Accept(ref state.HighestIndex, ref state.Window, index);
        }
        // The padding count was encrypted; check it now.
        if (header.Padding)
        {
            int pad = buffer[end - 1];
            if (pad == 0 || hl + pad > end) return RtcError.BadPadding;
        }
        plainLength = end;
        return RtcError.None;
    }

    private static RtcError CheckReplay(ulong highest, UInt128 window, ulong index)
    {
        if (index > highest) return RtcError.None;
        ulong delta = highest - index;
        if (delta >= ReplayWindow) return RtcError.TooOld;
        return ((window >> (int)delta) & 1) != 0 ? RtcError.Replayed : RtcError.None;
    }

    private static void Accept(ref ulong highest, ref UInt128 window, ulong index)
    {
        if (index > highest)
        {
            ulong shift = index - highest;
            window = shift >= ReplayWindow ? 1 : (window << (int)shift) | 1;
            highest = index;
        }
        else
        {
            window |= UInt128.One << (int)(highest - index);
        }
    }

    private static void CtrIv(Span<byte> iv, ReadOnlySpan<byte> salt, uint ssrc, ulong index)
    {
        iv.Clear();
        salt.CopyTo(iv);
        iv[4] ^= (byte)(ssrc >> 24);
        iv[5] ^= (byte)(ssrc >> 16);
        iv[6] ^= (byte)(ssrc >> 8);
        iv[7] ^= (byte)ssrc;
        for (int i = 0; i < 6; i++) iv[13 - i] ^= (byte)(index >> (8 * i));
    }

    private void GcmRtpNonce(Span<byte> nonce, uint ssrc, ulong index)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(nonce[2..], ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[6..], (uint)(index >> 16));
        BinaryPrimitives.WriteUInt16BigEndian(nonce[10..], (ushort)index);
        for (int i = 0; i < 12; i++) nonce[i] ^= _rtpSalt[i];
    }

    private void GcmRtcpNonce(Span<byte> nonce, uint ssrc, uint index)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(nonce[2..], ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[8..], index & 0x7FFFFFFF);
        for (int i = 0; i < 12; i++) nonce[i] ^= _rtcpSalt[i];
    }

    /// <summary>Protects (encrypts) the RTCP compound in <c>buffer[..length]</c>; needs <see cref="SrtpProfiles.RtcpOverhead"/> spare bytes.</summary>
    public RtcError ProtectRtcp(Span<byte> buffer, int length, out int protectedLength)
    {
        protectedLength = 0;
        if (length < 8) return RtcError.Truncated;
        if (buffer[0] >> 6 != 2) return RtcError.BadVersion;
        if (buffer.Length < length + SrtpProfiles.RtcpOverhead(_profile)) return RtcError.TooLarge;
        uint ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]);
        var error = GetOrAdd(ssrc, out var s);
        if (error != RtcError.None) return error;
        uint index = s.SrtcpSendIndex;
        s.SrtcpSendIndex = (s.SrtcpSendIndex + 1) & 0x7FFFFFFF;
        return ProtectRtcpWithIndex(buffer, length, index, out protectedLength);
    }

    internal RtcError ProtectRtcpWithIndex(Span<byte> buffer, int length, uint index, out int protectedLength)
    {
        uint ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]);
        uint eIndex = 0x80000000 | index;
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            GcmRtcpNonce(nonce, ssrc, index);
            Span<byte> aad = stackalloc byte[12];
            buffer[..8].CopyTo(aad);
            BinaryPrimitives.WriteUInt32BigEndian(aad[8..], eIndex);
            var payload = buffer[8..length];
            _rtcpGcm!.Encrypt(nonce, payload, buffer.Slice(length, 16), aad);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(length + 16)..], eIndex);
            protectedLength = length + 20;
        }
        else
        {
            Span<byte> iv = stackalloc byte[16];
            CtrIv(iv, _rtcpSalt, ssrc, index);
            _rtcpCtr!.Apply(iv, buffer[8..length]);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], eIndex);
            _rtcpHmac!.AppendData(buffer[..(length + 4)]);
            _rtcpHmac.GetHashAndReset(_mac);
            _mac.AsSpan(0, 10).CopyTo(buffer[(length + 4)..]);
            protectedLength = length + 14;
        }
        return RtcError.None;
    }

    /// <summary>Authenticates, replay-checks and decrypts an SRTCP packet in place.</summary>
    public RtcError UnprotectRtcp(Span<byte> buffer, int length, out int plainLength)
    {
        plainLength = 0;
        int overhead = SrtpProfiles.RtcpOverhead(_profile);
        if (length < 8 + overhead) return RtcError.Truncated;
        if (buffer[0] >> 6 != 2) return RtcError.BadVersion;
        uint ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]);
        int end = length - overhead;
        uint eIndex;
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            eIndex = BinaryPrimitives.ReadUInt32BigEndian(buffer[(length - 4)..]);
        }
        else
        {
            eIndex = BinaryPrimitives.ReadUInt32BigEndian(buffer[end..]);
        }
        uint index = eIndex & 0x7FFFFFFF;
        bool encrypted = (eIndex & 0x80000000) != 0;
        var state = Lookup(ssrc);
        if (state is null && _streams.Count >= MaxStreams) return RtcError.TooLarge;
        if (state is { RtcpInitialized: true })
        {
            var error = CheckReplay(state.RtcpHighest, state.RtcpWindow, index);
            if (error != RtcError.None) return error;
        }
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            GcmRtcpNonce(nonce, ssrc, index);
            Span<byte> aad = stackalloc byte[12];
            buffer[..8].CopyTo(aad);
            BinaryPrimitives.WriteUInt32BigEndian(aad[8..], eIndex);
            if (!encrypted) return RtcError.Unsupported; // we never negotiate unencrypted SRTCP
            var payload = buffer[8..end];
            if (!_rtcpGcm!.TryDecrypt(nonce, payload, buffer.Slice(end, 16), aad)) return RtcError.AuthenticationFailed;
        }
        else
        {
            _rtcpHmac!.AppendData(buffer[..(end + 4)]);
            _rtcpHmac.GetHashAndReset(_mac);
            if (!CryptographicOperations.FixedTimeEquals(_mac.AsSpan(0, 10), buffer.Slice(end + 4, 10))) return RtcError.AuthenticationFailed;
            if (encrypted)
            {
                Span<byte> iv = stackalloc byte[16];
                CtrIv(iv, _rtcpSalt, ssrc, index);
                _rtcpCtr!.Apply(iv, buffer[8..end]);
            }
        }
        if (state is null)
        {
            var error = GetOrAdd(ssrc, out state);
            if (error != RtcError.None) return error;
        }
        if (!state.RtcpInitialized)
        {
            state.RtcpInitialized = true;
            state.RtcpHighest = index;
            state.RtcpWindow = 1;
        }
        else
        {
            ulong h = state.RtcpHighest;
            Accept(ref h, ref state.RtcpWindow, index);
            state.RtcpHighest = (uint)h;
        }
        plainLength = end;
        return RtcError.None;
    }

    public void Dispose()
    {
        _rtpCtr?.Dispose();
        _rtcpCtr?.Dispose();
        _rtpHmac?.Dispose();
        _rtcpHmac?.Dispose();
        _rtpGcm?.Dispose();
        _rtcpGcm?.Dispose();
    }
}

/// <summary>
/// AES-128-GCM with 16-byte tags for SRTP: straight on OpenSSL's EVP interface where libcrypto loads (see
/// <see cref="Interop.OpenSslAesGcm"/>), else .NET's <see cref="AesGcm"/>.
/// </summary>
internal sealed class GcmCipher : IDisposable
{
    private readonly Interop.OpenSslAesGcm? _native;
    private readonly AesGcm? _managed;

    public GcmCipher(ReadOnlySpan<byte> key)
    {
        _native = Environment.GetEnvironmentVariable("ROOM_SRTP_MANAGED_GCM") == "1" ? null : Interop.OpenSslAesGcm.TryCreate(key);
        if (_native is null) _managed = new AesGcm(key, 16);
    }

    /// <summary>Whether OpenSSL is used directly.</summary>
    public bool IsNative => _native is not null;

    public void Encrypt(ReadOnlySpan<byte> nonce, Span<byte> data, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        if (_native is not null) _native.Encrypt(nonce, data, tag, aad);
        else _managed!.Encrypt(nonce, data, data, tag, aad);
    }

    public bool TryDecrypt(ReadOnlySpan<byte> nonce, Span<byte> data, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> aad)
    {
        if (_native is not null) return _native.TryDecrypt(nonce, data, tag, aad);
        try
        {
            _managed!.Decrypt(nonce, data, tag, data, aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _native?.Dispose();
        _managed?.Dispose();
    }
}
