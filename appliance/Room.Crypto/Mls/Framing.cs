using System.Security.Cryptography;

namespace Room.Crypto.Mls;

/// <summary>PublicMessage / PrivateMessage protection (RFC 9420 section 6).</summary>
public static class Framing
{
    /// <summary>Signs content and wraps it as a PublicMessage (with membership tag for member senders).</summary>
    public static PublicMessage ProtectPublic(MlsCipherSuite cs, FramedContent content, byte[] groupContext, byte[] signaturePrivateKey, byte[]? membershipKey, byte[]? confirmationTag = null)
    {
        var ac = new AuthenticatedContent { WireFormat = WireFormat.PublicMessage, Content = content };
        ac.Sign(cs, signaturePrivateKey, groupContext);
        if (confirmationTag != null)
        {
            ac.Auth.ConfirmationTag = confirmationTag;
        }

        return Wrap(cs, ac, groupContext, membershipKey);
    }

    public static PublicMessage Wrap(MlsCipherSuite cs, AuthenticatedContent ac, byte[] groupContext, byte[]? membershipKey)
    {
        if (ac.Content.ContentType == ContentType.Application)
        {
            throw new MlsException("application data must not be sent as PublicMessage");
        }

        var pm = new PublicMessage { Content = ac.Content, Auth = ac.Auth };
        if (ac.Content.Sender.Type == SenderType.Member)
        {
            pm.MembershipTag = cs.Mac(membershipKey ?? throw new MlsException("membership key needed"), PublicMessage.MembershipInput(ac, groupContext));
        }

        return pm;
    }

    /// <summary>
    /// A proposal from external sender <paramref name="senderIndex"/> of the group's external_senders (RFC 9420
    /// section 12.1.8.1): a PublicMessage signed with that sender's key, without group context and membership tag.
    /// </summary>
    public static MlsMessage SignExternalProposal(MlsCipherSuite cs, byte[] groupId, ulong epoch, uint senderIndex, Proposal proposal, byte[] signaturePrivateKey)
    {
        var content = new FramedContent
        {
            GroupId = groupId,
            Epoch = epoch,
            Sender = new Sender(SenderType.External, senderIndex),
            ContentType = ContentType.Proposal,
            Proposal = proposal,
        };
        var ac = new AuthenticatedContent { WireFormat = WireFormat.PublicMessage, Content = content };
        ac.Sign(cs, signaturePrivateKey, null);
        return new MlsMessage { WireFormat = WireFormat.PublicMessage, PublicMessage = new PublicMessage { Content = content, Auth = ac.Auth } };
    }

    /// <summary>The reference (RFC 9420 section 5.2) a commit uses for the proposal carried by <paramref name="pm"/>.</summary>
    public static byte[] ProposalRef(MlsCipherSuite cs, PublicMessage pm) => cs.ProposalRef(pm.ToAuthenticated().ToBytes());

    /// <summary>Checks the membership tag (member senders); the signature is checked by the caller, who knows the signer.</summary>
    public static AuthenticatedContent UnprotectPublic(MlsCipherSuite cs, PublicMessage pm, byte[] groupContext, byte[] membershipKey)
    {
        if (pm.Content.ContentType == ContentType.Application)
        {
            throw new MlsException("application data must not be sent as PublicMessage");
        }

        var ac = pm.ToAuthenticated();
        if (pm.Content.Sender.Type == SenderType.Member &&
            !cs.VerifyMac(membershipKey, PublicMessage.MembershipInput(ac, groupContext), pm.MembershipTag))
        {
            throw new MlsException("bad membership tag");
        }

        return ac;
    }

    private static byte[] ContentAad(FramedContent c)
    {
        var w = new MlsWriter();
        w.Opaque(c.GroupId);
        w.U64(c.Epoch);
        w.U8((byte)c.ContentType);
        w.Opaque(c.AuthenticatedData);
        return w.ToArray();
    }

    private static byte[] SenderDataAad(byte[] groupId, ulong epoch, ContentType ct)
    {
        var w = new MlsWriter();
        w.Opaque(groupId);
        w.U64(epoch);
        w.U8((byte)ct);
        return w.ToArray();
    }

    public static (byte[] Key, byte[] Nonce) SenderDataKeyNonce(MlsCipherSuite cs, byte[] senderDataSecret, ReadOnlySpan<byte> ciphertext)
    {
        var sample = ciphertext[..Math.Min(cs.Nh, ciphertext.Length)];
        return (cs.ExpandWithLabel(senderDataSecret, "key", sample, cs.AeadKeySize), cs.ExpandWithLabel(senderDataSecret, "nonce", sample, cs.AeadNonceSize));
    }

    /// <summary>Encrypts signed content as a PrivateMessage with the sender's next ratchet generation.</summary>
    public static PrivateMessage ProtectPrivate(MlsCipherSuite cs, AuthenticatedContent ac, SecretTree tree, byte[] senderDataSecret, int padding = 0)
    {
        var c = ac.Content;
        if (c.Sender.Type != SenderType.Member)
        {
            throw new MlsException("only members send PrivateMessage");
        }

        var w = new MlsWriter();
        c.WriteBody(w);
        ac.Auth.Write(w, c.ContentType);
        w.Raw(new byte[padding]);
        byte[] plaintext = w.ToArray();

        var (gen, key, nonce) = tree.Ratchet(c.Sender.Index, c.ContentType).Next();
        byte[] guard = RandomNumberGenerator.GetBytes(4);
        for (int i = 0; i < 4; i++)
        {
            nonce[i] ^= guard[i];
        }

        byte[] ct = cs.AeadSeal(key, nonce, ContentAad(c), plaintext);
        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(plaintext);

        var sd = new MlsWriter();
        sd.U32(c.Sender.Index);
        sd.U32(gen);
        sd.Raw(guard);
        var (sdKey, sdNonce) = SenderDataKeyNonce(cs, senderDataSecret, ct);
        byte[] esd = cs.AeadSeal(sdKey, sdNonce, SenderDataAad(c.GroupId, c.Epoch, c.ContentType), sd.Written);
        CryptographicOperations.ZeroMemory(sdKey);
        return new PrivateMessage
        {
            GroupId = c.GroupId,
            Epoch = c.Epoch,
            ContentType = c.ContentType,
            AuthenticatedData = c.AuthenticatedData,
            EncryptedSenderData = esd,
            Ciphertext = ct,
        };
    }

    /// <summary>Decrypts a PrivateMessage. The signature is checked by the caller.</summary>
    public static AuthenticatedContent UnprotectPrivate(MlsCipherSuite cs, PrivateMessage pm, SecretTree tree, byte[] senderDataSecret)
    {
        var (sdKey, sdNonce) = SenderDataKeyNonce(cs, senderDataSecret, pm.Ciphertext);
        byte[] sdBytes;
        try
        {
            sdBytes = cs.AeadOpen(sdKey, sdNonce, SenderDataAad(pm.GroupId, pm.Epoch, pm.ContentType), pm.EncryptedSenderData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sdKey);
        }

        var sdr = new MlsReader(sdBytes);
        uint leaf = sdr.U32();
        uint gen = sdr.U32();
        byte[] guard = sdr.Raw(4);
        sdr.ExpectEnd();

        var (key, nonce) = tree.Ratchet(leaf, pm.ContentType).Get(gen);
        for (int i = 0; i < 4; i++)
        {
            nonce[i] ^= guard[i];
        }

        var content = new FramedContent
        {
            GroupId = pm.GroupId,
            Epoch = pm.Epoch,
            Sender = Sender.Member(leaf),
            AuthenticatedData = pm.AuthenticatedData,
            ContentType = pm.ContentType,
        };
        byte[] pt;
        try
        {
            pt = cs.AeadOpen(key, nonce, ContentAad(content), pm.Ciphertext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        try
        {
            var r = new MlsReader(pt);
            content.ReadBody(r);
            var auth = FramedContentAuthData.Read(r, content.ContentType);
            while (!r.AtEnd)
            {
                if (r.U8() != 0)
                {
                    throw new MlsDecodeException("non-zero padding");
                }
            }

            return new AuthenticatedContent { WireFormat = WireFormat.PrivateMessage, Content = content, Auth = auth };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pt); // the decoded content holds its own copies
        }
    }
}
