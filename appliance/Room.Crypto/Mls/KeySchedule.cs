using System.Security.Cryptography;

namespace Room.Crypto.Mls;

/// <summary>The secrets of one epoch (RFC 9420 section 8).</summary>
public sealed class EpochSecrets : IDisposable
{
    private readonly MlsCipherSuite _cs;

    private EpochSecrets(MlsCipherSuite cs) => _cs = cs;

    public byte[] JoinerSecret { get; private set; } = [];
    public byte[] WelcomeSecret { get; private set; } = [];
    public byte[] SenderDataSecret { get; private set; } = [];
    public byte[] EncryptionSecret { get; private set; } = [];
    public byte[] ExporterSecret { get; private set; } = [];
    public byte[] EpochAuthenticator { get; private set; } = [];
    public byte[] ExternalSecret { get; private set; } = [];
    public byte[] ConfirmationKey { get; private set; } = [];
    public byte[] MembershipKey { get; private set; } = [];
    public byte[] ResumptionPsk { get; private set; } = [];
    public byte[] InitSecret { get; private set; } = [];

    public byte[] ExternalPub
    {
        get
        {
            var (sk, pk) = _cs.DeriveHpkeKeyPair(ExternalSecret);
            CryptographicOperations.ZeroMemory(sk);
            return pk;
        }
    }

    public byte[] ExternalPriv => _cs.DeriveHpkeKeyPair(ExternalSecret).PrivateKey;

    /// <summary>joiner_secret = ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GroupContext, Nh).</summary>
    public static byte[] ComputeJoiner(MlsCipherSuite cs, ReadOnlySpan<byte> initSecret, ReadOnlySpan<byte> commitSecret, ReadOnlySpan<byte> groupContext)
    {
        byte[] prk = cs.Extract(initSecret, commitSecret);
        byte[] j = cs.ExpandWithLabel(prk, "joiner", groupContext, cs.Nh);
        CryptographicOperations.ZeroMemory(prk);
        return j;
    }

    public static EpochSecrets FromInit(MlsCipherSuite cs, ReadOnlySpan<byte> initSecret, ReadOnlySpan<byte> commitSecret, ReadOnlySpan<byte> pskSecret, ReadOnlySpan<byte> groupContext) =>
        FromJoiner(cs, ComputeJoiner(cs, initSecret, commitSecret.IsEmpty ? new byte[cs.Nh] : commitSecret, groupContext), pskSecret, groupContext);

    public static EpochSecrets FromJoiner(MlsCipherSuite cs, byte[] joinerSecret, ReadOnlySpan<byte> pskSecret, ReadOnlySpan<byte> groupContext)
    {
        byte[] psk = pskSecret.IsEmpty ? new byte[cs.Nh] : pskSecret.ToArray();
        byte[] member = cs.Extract(joinerSecret, psk);
        byte[] epoch = cs.ExpandWithLabel(member, "epoch", groupContext, cs.Nh);
        var s = new EpochSecrets(cs)
        {
            JoinerSecret = joinerSecret,
            WelcomeSecret = cs.DeriveSecret(member, "welcome"),
            SenderDataSecret = cs.DeriveSecret(epoch, "sender data"),
            EncryptionSecret = cs.DeriveSecret(epoch, "encryption"),
            ExporterSecret = cs.DeriveSecret(epoch, "exporter"),
            EpochAuthenticator = cs.DeriveSecret(epoch, "authentication"),
            ExternalSecret = cs.DeriveSecret(epoch, "external"),
            ConfirmationKey = cs.DeriveSecret(epoch, "confirm"),
            MembershipKey = cs.DeriveSecret(epoch, "membership"),
            ResumptionPsk = cs.DeriveSecret(epoch, "resumption"),
            InitSecret = cs.DeriveSecret(epoch, "init"),
        };
        CryptographicOperations.ZeroMemory(member);
        CryptographicOperations.ZeroMemory(epoch);
        return s;
    }

    public static byte[] WelcomeSecretFromJoiner(MlsCipherSuite cs, byte[] joinerSecret, ReadOnlySpan<byte> pskSecret)
    {
        byte[] member = cs.Extract(joinerSecret, pskSecret.IsEmpty ? new byte[cs.Nh] : pskSecret);
        byte[] w = cs.DeriveSecret(member, "welcome");
        CryptographicOperations.ZeroMemory(member);
        return w;
    }

    /// <summary>welcome_key/nonce from welcome_secret.</summary>
    public static (byte[] Key, byte[] Nonce) WelcomeKeyNonce(MlsCipherSuite cs, byte[] welcomeSecret) =>
        (cs.ExpandWithLabel(welcomeSecret, "key", [], cs.AeadKeySize), cs.ExpandWithLabel(welcomeSecret, "nonce", [], cs.AeadNonceSize));

    /// <summary>MLS-Exporter(Label, Context, Length).</summary>
    public byte[] Export(string label, ReadOnlySpan<byte> context, int length) =>
        Export(System.Text.Encoding.UTF8.GetBytes(label), context, length);

    public byte[] Export(ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, int length)
    {
        byte[] derived = _cs.ExpandWithLabel(ExporterSecret, label, [], _cs.Nh);
        byte[] r = _cs.ExpandWithLabel(derived, "exported", _cs.HashData(context), length);
        CryptographicOperations.ZeroMemory(derived);
        return r;
    }

    public void Dispose()
    {
        foreach (var b in new[] { JoinerSecret, WelcomeSecret, SenderDataSecret, EncryptionSecret, ExporterSecret, ExternalSecret, ConfirmationKey, MembershipKey, ResumptionPsk, InitSecret })
        {
            CryptographicOperations.ZeroMemory(b);
        }
    }
}

/// <summary>psk_secret from a list of (PreSharedKeyID, psk) (RFC 9420 section 8.4).</summary>
public static class PskSecret
{
    public static byte[] Compute(MlsCipherSuite cs, IReadOnlyList<(PreSharedKeyId Id, byte[] Psk)> psks)
    {
        byte[] secret = new byte[cs.Nh];
        for (int i = 0; i < psks.Count; i++)
        {
            byte[] extracted = cs.Extract(new byte[cs.Nh], psks[i].Psk);
            var w = new MlsWriter();
            psks[i].Id.Write(w);
            w.U16((ushort)i);
            w.U16((ushort)psks.Count);
            byte[] input = cs.ExpandWithLabel(extracted, "derived psk", w.Written, cs.Nh);
            byte[] next = cs.Extract(input, secret);
            CryptographicOperations.ZeroMemory(extracted);
            CryptographicOperations.ZeroMemory(input);
            CryptographicOperations.ZeroMemory(secret);
            secret = next;
        }

        return secret;
    }
}

public static class TranscriptHash
{
    public static byte[] Confirmed(MlsCipherSuite cs, ReadOnlySpan<byte> interimBefore, AuthenticatedContent commit) =>
        cs.HashData([.. interimBefore, .. commit.ConfirmedTranscriptHashInput()]);

    public static byte[] Interim(MlsCipherSuite cs, ReadOnlySpan<byte> confirmed, ReadOnlySpan<byte> confirmationTag)
    {
        var w = new MlsWriter();
        w.Raw(confirmed);
        w.Opaque(confirmationTag);
        return cs.HashData(w.Written);
    }
}
