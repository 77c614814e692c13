using System.Text.Json;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests.Vectors;

/// <summary>key-schedule, secret-tree, psk_secret, transcript-hashes, message-protection.</summary>
public static class MlsScheduleVectors
{
    public static Tally KeyScheduleRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        byte[] groupId = v.Hex("group_id");
        byte[] init = v.Hex("initial_init_secret");
        ulong epoch = 0;
        foreach (var e in v.GetProperty("epochs").EnumerateArray())
        {
            var gc = new GroupContext
            {
                CipherSuite = cs.Id,
                GroupId = groupId,
                Epoch = epoch,
                TreeHash = e.Hex("tree_hash"),
                ConfirmedTranscriptHash = e.Hex("confirmed_transcript_hash"),
            };
            byte[] gcBytes = gc.ToBytes();
            Check.Equal(e.Hex("group_context"), gcBytes, $"epoch {epoch} group_context");
            using var s = EpochSecrets.FromInit(cs, init, e.Hex("commit_secret"), e.Hex("psk_secret"), gcBytes);
            Check.Equal(e.Hex("joiner_secret"), s.JoinerSecret, "joiner_secret");
            Check.Equal(e.Hex("welcome_secret"), s.WelcomeSecret, "welcome_secret");
            Check.Equal(e.Hex("init_secret"), s.InitSecret, "init_secret");
            Check.Equal(e.Hex("sender_data_secret"), s.SenderDataSecret, "sender_data_secret");
            Check.Equal(e.Hex("encryption_secret"), s.EncryptionSecret, "encryption_secret");
            Check.Equal(e.Hex("exporter_secret"), s.ExporterSecret, "exporter_secret");
            Check.Equal(e.Hex("epoch_authenticator"), s.EpochAuthenticator, "epoch_authenticator");
            Check.Equal(e.Hex("external_secret"), s.ExternalSecret, "external_secret");
            Check.Equal(e.Hex("confirmation_key"), s.ConfirmationKey, "confirmation_key");
            Check.Equal(e.Hex("membership_key"), s.MembershipKey, "membership_key");
            Check.Equal(e.Hex("resumption_psk"), s.ResumptionPsk, "resumption_psk");
            Check.Equal(e.Hex("external_pub"), s.ExternalPub, "external_pub");
            var x = e.GetProperty("exporter");
            Check.Equal(x.Hex("secret"), s.Export(x.GetProperty("label").GetString()!, x.Hex("context"), x.GetProperty("length").GetInt32()), "exporter");
            init = (byte[])s.InitSecret.Clone();
            epoch++;
        }
    });

    public static Tally SecretTreeRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var sd = v.GetProperty("sender_data");
        var (k, n) = Framing.SenderDataKeyNonce(cs, sd.Hex("sender_data_secret"), sd.Hex("ciphertext"));
        Check.Equal(sd.Hex("key"), k, "sender data key");
        Check.Equal(sd.Hex("nonce"), n, "sender data nonce");
        var leaves = v.GetProperty("leaves");
        uint nLeaves = (uint)leaves.GetArrayLength();
        using var tree = new SecretTree(cs, v.Hex("encryption_secret"), nLeaves);
        uint leaf = 0;
        foreach (var l in leaves.EnumerateArray())
        {
            foreach (var g in l.EnumerateArray())
            {
                uint gen = g.GetProperty("generation").GetUInt32();
                var (hk, hn) = tree.Handshake(leaf).Get(gen);
                var (ak, an) = tree.Application(leaf).Get(gen);
                Check.Equal(g.Hex("handshake_key"), hk, $"leaf {leaf} gen {gen} handshake_key");
                Check.Equal(g.Hex("handshake_nonce"), hn, "handshake_nonce");
                Check.Equal(g.Hex("application_key"), ak, "application_key");
                Check.Equal(g.Hex("application_nonce"), an, "application_nonce");
            }

            leaf++;
        }
    });

    public static Tally PskSecretRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var psks = v.GetProperty("psks").EnumerateArray().Select(p =>
            (new PreSharedKeyId { Type = PskType.External, PskId = p.Hex("psk_id"), PskNonce = p.Hex("psk_nonce") }, p.Hex("psk"))).ToList();
        Check.Equal(v.Hex("psk_secret"), PskSecret.Compute(cs, psks), "psk_secret");
    });

    public static Tally TranscriptRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var ac = MlsReader.DecodeAll(v.Hex("authenticated_content"), AuthenticatedContent.Read);
        Check.True(ac.Content.ContentType == ContentType.Commit, "content is a commit");
        byte[] confirmed = TranscriptHash.Confirmed(cs, v.Hex("interim_transcript_hash_before"), ac);
        Check.Equal(v.Hex("confirmed_transcript_hash_after"), confirmed, "confirmed_transcript_hash_after");
        Check.True(cs.VerifyMac(v.Hex("confirmation_key"), confirmed, ac.Auth.ConfirmationTag), "confirmation tag");
        Check.Equal(v.Hex("interim_transcript_hash_after"), TranscriptHash.Interim(cs, confirmed, ac.Auth.ConfirmationTag), "interim_transcript_hash_after");
    });

    public static Tally MessageProtectionRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var gc = new GroupContext
        {
            CipherSuite = cs.Id,
            GroupId = v.Hex("group_id"),
            Epoch = v.GetProperty("epoch").GetUInt64(),
            TreeHash = v.Hex("tree_hash"),
            ConfirmedTranscriptHash = v.Hex("confirmed_transcript_hash"),
        };
        byte[] gcb = gc.ToBytes();
        byte[] sigPub = v.Hex("signature_pub"), sigPriv = v.Hex("signature_priv");
        byte[] membership = v.Hex("membership_key"), sds = v.Hex("sender_data_secret"), enc = v.Hex("encryption_secret");

        foreach (var kind in new[] { "proposal", "commit", "application" })
        {
            byte[] expected = v.Hex(kind);
            byte[] Body(FramedContent c) => kind == "application" ? c.ApplicationData : MlsWriter.Encode(c.WriteBody);

            if (kind != "application")
            {
                var pub = MlsMessage.Decode(v.Hex(kind + "_pub"));
                var ac = Framing.UnprotectPublic(cs, pub.PublicMessage!, gcb, membership);
                Check.True(ac.Verify(cs, sigPub, gcb), kind + "_pub signature");
                Check.Equal(expected, Body(ac.Content), kind + "_pub content");
            }

            var priv = MlsMessage.Decode(v.Hex(kind + "_priv"));
            using (var tree = new SecretTree(cs, enc, 2))
            {
                var ac = Framing.UnprotectPrivate(cs, priv.PrivateMessage!, tree, sds);
                Check.True(ac.Verify(cs, sigPub, gcb), kind + "_priv signature");
                Check.Equal(expected, Body(ac.Content), kind + "_priv content");
            }

            // Our own protection round-trips through a fresh receiver.
            var content = new FramedContent { GroupId = gc.GroupId, Epoch = gc.Epoch, Sender = Sender.Member(1), ContentType = kind switch { "proposal" => ContentType.Proposal, "commit" => ContentType.Commit, _ => ContentType.Application } };
            content.ReadBody(new MlsReader(kind == "application" ? MlsWriter.Encode(w => w.Opaque(expected)) : expected));
            var mine = new AuthenticatedContent { WireFormat = WireFormat.PrivateMessage, Content = content };
            mine.Sign(cs, sigPriv, gcb);
            if (kind == "commit")
            {
                mine.Auth.ConfirmationTag = new byte[cs.Nh];
            }

            using var sendTree = new SecretTree(cs, enc, 2);
            using var recvTree = new SecretTree(cs, enc, 2);
            var pm = Framing.ProtectPrivate(cs, mine, sendTree, sds, padding: 7);
            var back = Framing.UnprotectPrivate(cs, MlsMessage.Decode(new MlsMessage { WireFormat = WireFormat.PrivateMessage, PrivateMessage = pm }.ToBytes()).PrivateMessage!, recvTree, sds);
            Check.True(back.Verify(cs, sigPub, gcb), "own private signature");
            Check.Equal(expected, Body(back.Content), "own private content");

            if (kind == "application")
            {
                bool refused = false;
                try
                {
                    Framing.ProtectPublic(cs, content, gcb, sigPriv, membership);
                }
                catch (MlsException)
                {
                    refused = true;
                }

                Check.True(refused, "application data as PublicMessage must be refused");
            }
            else
            {
                var pubMine = Framing.ProtectPublic(cs, content, gcb, sigPriv, membership, kind == "commit" ? new byte[cs.Nh] : null);
                var ac2 = Framing.UnprotectPublic(cs, pubMine, gcb, membership);
                Check.True(ac2.Verify(cs, sigPub, gcb), "own public signature");
            }
        }
    });
}
