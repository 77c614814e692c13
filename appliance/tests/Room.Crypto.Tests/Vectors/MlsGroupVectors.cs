using System.Text.Json;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests.Vectors;

/// <summary>welcome.json and the passive-client scenarios.</summary>
public static class MlsGroupVectors
{
    public static Tally WelcomeRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var kp = MlsMessage.Decode(v.Hex("key_package")).KeyPackage!;
        var welcome = MlsMessage.Decode(v.Hex("welcome")).Welcome!;
        var gs = MlsGroup.OpenGroupSecrets(cs, welcome, kp, v.Hex("init_priv"));
        var gi = MlsGroup.OpenGroupInfo(cs, welcome, gs.JoinerSecret, []);
        Check.True(cs.VerifyWithLabel(v.Hex("signer_pub"), "GroupInfoTBS", gi.ToBeSigned(), gi.Signature), "GroupInfo signature");
        using var secrets = EpochSecrets.FromJoiner(cs, gs.JoinerSecret, [], gi.GroupContext.ToBytes());
        Check.True(cs.VerifyMac(secrets.ConfirmationKey, gi.GroupContext.ConfirmedTranscriptHash, gi.ConfirmationTag), "confirmation tag");
    });

    public static Tally PassiveRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var kp = MlsMessage.Decode(v.Hex("key_package")).KeyPackage!;
        byte[] sigPriv = v.Hex("signature_priv"), encPriv = v.Hex("encryption_priv"), initPriv = v.Hex("init_priv");
        Check.Equal(kp.LeafNode.SignatureKey, cs.SignaturePublicKeyOf(sigPriv), "signature key");
        Check.Equal(kp.LeafNode.EncryptionKey, cs.Hpke.Kem.PublicKeyOf(encPriv), "encryption key");
        Check.Equal(kp.InitKey, cs.Hpke.Kem.PublicKeyOf(initPriv), "init key");
        var me = new MlsIdentity(cs, kp.LeafNode.Credential, sigPriv, kp.LeafNode.SignatureKey);
        // The recorded scenarios are from 2023-2024; their KeyPackage lifetimes are history, not "now".
        var options = new MlsGroupOptions { CheckLifetimes = false };
        foreach (var p in v.GetProperty("external_psks").EnumerateArray())
        {
            options.ExternalPsks[Convert.ToHexString(p.Hex("psk_id"))] = p.Hex("psk");
        }

        RatchetTree? tree = v.GetProperty("ratchet_tree").ValueKind == JsonValueKind.Null ? null : RatchetTree.Decode(v.Hex("ratchet_tree"));
        var welcome = MlsMessage.Decode(v.Hex("welcome")).Welcome!;
        using var g = MlsGroup.Join(me, new KeyPackageBundle(kp, initPriv, encPriv), welcome, options, tree);
        Check.Equal(v.Hex("initial_epoch_authenticator"), g.EpochAuthenticator, "initial epoch authenticator");
        int e = 0;
        foreach (var epoch in v.GetProperty("epochs").EnumerateArray())
        {
            foreach (var p in epoch.GetProperty("proposals").EnumerateArray())
            {
                g.Process(MlsMessage.Decode(p.Hex()));
            }

            g.Process(MlsMessage.Decode(epoch.Hex("commit")));
            Check.Equal(epoch.Hex("epoch_authenticator"), g.EpochAuthenticator, $"epoch {e} authenticator");
            e++;
        }
    });
}
