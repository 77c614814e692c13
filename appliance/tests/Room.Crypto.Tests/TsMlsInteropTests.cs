using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Room.Crypto.Mls;
using Room.Crypto.Tests.Vectors;

namespace Room.Crypto.Tests;

/// <summary>
/// A node peer in interop/ driven over JSON lines on stdin/stdout: the ts-mls peer (peer.mjs, the default) or the
/// @hpke/core peer (hpke-peer.mjs).
/// </summary>
internal sealed class TsMlsPeer : IDisposable
{
    private readonly Process _node;

    public TsMlsPeer(string script = "peer.mjs", string package = "ts-mls")
    {
        string dir = Path.Combine(VectorFiles.RepoRoot, "appliance", "tests", "Room.Crypto.Tests", "interop");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", package)))
        {
            throw new InvalidOperationException($"{package} is not installed in {dir}; run `make deps` (npm ci)");
        }

        var psi = new ProcessStartInfo("node", script)
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _node = Process.Start(psi) ?? throw new InvalidOperationException("node did not start");
        _node.ErrorDataReceived += (_, _) => { };
        _node.BeginErrorReadLine();
    }

    public JsonObject Call(object request)
    {
        _node.StandardInput.WriteLine(JsonSerializer.Serialize(request));
        _node.StandardInput.Flush();
        string? line = _node.StandardOutput.ReadLine() ?? throw new InvalidOperationException("ts-mls peer exited");
        var reply = JsonNode.Parse(line)!.AsObject();
        if (reply.TryGetPropertyValue("error", out var err))
        {
            throw new InvalidOperationException("node peer: " + err);
        }

        return reply;
    }

    public static MlsMessage Msg(JsonObject reply, string field) => MlsMessage.Decode(Convert.FromHexString(reply[field]!.GetValue<string>()));

    public static string Hex(MlsMessage m) => Convert.ToHexString(m.ToBytes());

    public string EpochAuthenticator() => Call(new { cmd = "state" })["epochAuthenticator"]!.GetValue<string>().ToUpperInvariant();

    public void Dispose()
    {
        try
        {
            _node.StandardInput.Close();
            if (!_node.WaitForExit(5000))
            {
                _node.Kill();
            }
        }
        finally
        {
            _node.Dispose();
        }
    }
}

public sealed class TsMlsInteropTests
{
    private static string Auth(MlsGroup g) => Convert.ToHexString(g.EpochAuthenticator);

    private static void Exchange(MlsGroup room, TsMlsPeer ts)
    {
        var m = room.EncryptApplication("from room"u8);
        var r = ts.Call(new { cmd = "process", message = TsMlsPeer.Hex(m) });
        Assert.Equal("application", r["kind"]!.GetValue<string>());
        Assert.Equal(Convert.ToHexString("from room"u8), r["data"]!.GetValue<string>().ToUpperInvariant());

        var sent = ts.Call(new { cmd = "send", data = Convert.ToHexString("from ts-mls"u8) });
        var got = room.Process(TsMlsPeer.Msg(sent, "message"));
        Assert.Equal("from ts-mls"u8.ToArray(), got.ApplicationData);
    }

    private static void CommitBothWays(MlsGroup room, TsMlsPeer ts)
    {
        foreach (bool asPublic in new[] { false, true })
        {
            var c = ts.Call(new { cmd = "commit", asPublic });
            var msg = TsMlsPeer.Msg(c, "commit");
            Assert.Equal(asPublic ? WireFormat.PublicMessage : WireFormat.PrivateMessage, msg.WireFormat);
            room.Process(msg);
            Assert.Equal(ts.EpochAuthenticator(), Auth(room));
            Exchange(room, ts);
        }

        foreach (bool asPublic in new[] { false, true })
        {
            room.Options.HandshakeAsPublic = asPublic;
            var mine = room.Commit();
            ts.Call(new { cmd = "process", message = TsMlsPeer.Hex(mine.Commit) });
            Assert.Equal(ts.EpochAuthenticator(), Auth(room));
            Exchange(room, ts);
        }

        // The people-facing security code matches on both implementations.
        Assert.Equal(
            Room.Crypto.Media.SecurityCode.FromEpochAuthenticator(room.Suite, Convert.FromHexString(ts.EpochAuthenticator())),
            Room.Crypto.Media.SecurityCode.FromEpochAuthenticator(room.Suite, room.EpochAuthenticator));

        var exported = ts.Call(new { cmd = "state", label = "room media", context = "", length = 32 })["exported"]!.GetValue<string>();
        Assert.Equal(exported.ToUpperInvariant(), Convert.ToHexString(room.Export("room media", [], 32)));
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData((ushort)2)]
    [InlineData((ushort)3)]
    [InlineData((ushort)7)]
    public void Room_creates_the_group_and_ts_mls_joins_by_Welcome(ushort suite)
    {
        var cs = MlsCipherSuite.Get(suite);
        using var ts = new TsMlsPeer();
        var tsKp = TsMlsPeer.Msg(ts.Call(new { cmd = "init", suite, name = "ts-mls" }), "keyPackage");
        using var room = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "room"), "interop-room-first"u8.ToArray());
        var add = room.Commit(add: [tsKp.KeyPackage!]);
        ts.Call(new { cmd = "join", welcome = TsMlsPeer.Hex(add.Welcome!) });
        Assert.Equal(ts.EpochAuthenticator(), Auth(room));
        Exchange(room, ts);
        CommitBothWays(room, ts);
    }

    [Theory]
    [InlineData((ushort)1, false)]
    [InlineData((ushort)2, true)]
    [InlineData((ushort)3, false)]
    [InlineData((ushort)5, true)]
    public void ts_mls_creates_the_group_and_Room_joins_by_Welcome(ushort suite, bool asPublic)
    {
        var cs = MlsCipherSuite.Get(suite);
        using var ts = new TsMlsPeer();
        ts.Call(new { cmd = "init", suite, name = "ts-mls" });
        ts.Call(new { cmd = "create", groupId = Convert.ToHexString("interop-ts-first"u8) });
        var me = MlsIdentity.CreateBasic(cs, "room");
        var kp = me.CreateKeyPackage();
        var add = ts.Call(new { cmd = "add", keyPackage = TsMlsPeer.Hex(new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = kp.KeyPackage }), asPublic });
        using var room = MlsGroup.Join(me, kp, TsMlsPeer.Msg(add, "welcome").Welcome!);
        Assert.Equal(ts.EpochAuthenticator(), Auth(room));
        Exchange(room, ts);
        CommitBothWays(room, ts);
    }

    [Fact]
    public void Room_joins_a_ts_mls_group_externally_from_its_GroupInfo()
    {
        var cs = MlsCipherSuite.Get(1);
        using var ts = new TsMlsPeer();
        ts.Call(new { cmd = "init", suite = 1, name = "ts-mls" });
        ts.Call(new { cmd = "create", groupId = Convert.ToHexString("interop-external"u8) });
        var gi = TsMlsPeer.Msg(ts.Call(new { cmd = "groupInfo" }), "groupInfo").GroupInfo!;
        var (room, commit) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(cs, "room"), gi);
        using (room)
        {
            ts.Call(new { cmd = "process", message = TsMlsPeer.Hex(commit) });
            Assert.Equal(ts.EpochAuthenticator(), Auth(room));
            Exchange(room, ts);
        }
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData((ushort)2)]
    [InlineData((ushort)3)]
    public void ts_mls_joins_a_Room_group_externally_from_its_GroupInfo(ushort suite)
    {
        var cs = MlsCipherSuite.Get(suite);
        using var ts = new TsMlsPeer();
        ts.Call(new { cmd = "init", suite, name = "ts-mls" });
        using var room = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "room"), "interop-external-ts"u8.ToArray());
        // ts-mls 1.6.4 reads external_pub without the RFC's length prefix; it refuses the RFC form (checked here).
        Assert.Throws<InvalidOperationException>(() => ts.Call(new { cmd = "joinExternal", groupInfo = TsMlsPeer.Hex(new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = room.CreateGroupInfo() }) }));
        var gi = new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = room.CreateGroupInfo(bareExternalPub: true) };
        var commit = TsMlsPeer.Msg(ts.Call(new { cmd = "joinExternal", groupInfo = TsMlsPeer.Hex(gi) }), "commit");
        Assert.Equal(WireFormat.PublicMessage, commit.WireFormat);
        Assert.Equal(SenderType.NewMemberCommit, commit.PublicMessage!.Content.Sender.Type);
        room.Process(commit);
        Assert.Equal(2, room.Members.Count());
        Assert.Equal(ts.EpochAuthenticator(), Auth(room));
        Exchange(room, ts);
        CommitBothWays(room, ts);
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData((ushort)2)]
    public void Four_member_group_with_ts_mls_follows_adds_removes_and_commits_from_everyone(ushort suite)
    {
        var cs = MlsCipherSuite.Get(suite);
        using var ts = new TsMlsPeer();
        var tsKp = TsMlsPeer.Msg(ts.Call(new { cmd = "init", suite, name = "ts-mls" }), "keyPackage").KeyPackage!;
        var a = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "a"), "interop-four"u8.ToArray());
        var bId = MlsIdentity.CreateBasic(cs, "b");
        var cId = MlsIdentity.CreateBasic(cs, "c");
        var bKp = bId.CreateKeyPackage();
        var cKp = cId.CreateKeyPackage();
        var add = a.Commit(add: [bKp.KeyPackage, tsKp, cKp.KeyPackage]);
        ts.Call(new { cmd = "join", welcome = TsMlsPeer.Hex(add.Welcome!) });
        var b = MlsGroup.Join(bId, bKp, MlsMessage.Decode(add.Welcome!.ToBytes()).Welcome!);
        var c = MlsGroup.Join(cId, cKp, MlsMessage.Decode(add.Welcome!.ToBytes()).Welcome!);
        var rooms = new List<MlsGroup> { a, b, c };

        void AllAgree()
        {
            string auth = ts.EpochAuthenticator();
            Assert.All(rooms, g => Assert.Equal(auth, Auth(g)));
        }

        AllAgree();

        // ts-mls commits (its path is encrypted to several room members), then each room member commits in turn.
        var tc = TsMlsPeer.Msg(ts.Call(new { cmd = "commit", asPublic = false }), "commit");
        rooms.ForEach(g => g.Process(MlsMessage.Decode(tc.ToBytes())));
        AllAgree();
        foreach (var committer in rooms.ToList())
        {
            var m = committer.Commit().Commit;
            ts.Call(new { cmd = "process", message = TsMlsPeer.Hex(m) });
            rooms.Where(g => g != committer).ToList().ForEach(g => g.Process(MlsMessage.Decode(m.ToBytes())));
            AllAgree();
        }

        // ts-mls removes b; b sees it, the rest carry on.
        var rm = TsMlsPeer.Msg(ts.Call(new { cmd = "remove", leaf = b.MyLeaf, asPublic = true }), "commit");
        rooms.ForEach(g => g.Process(MlsMessage.Decode(rm.ToBytes())));
        Assert.True(b.Removed);
        rooms.Remove(b);
        AllAgree();

        var app = TsMlsPeer.Msg(ts.Call(new { cmd = "send", data = Convert.ToHexString("to everyone"u8) }), "message");
        Assert.All(rooms, g => Assert.Equal("to everyone"u8.ToArray(), g.Process(MlsMessage.Decode(app.ToBytes())).ApplicationData));
        Assert.Throws<MlsException>(() => b.Process(MlsMessage.Decode(app.ToBytes())));
    }
}
