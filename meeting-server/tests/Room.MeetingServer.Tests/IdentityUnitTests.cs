using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Room.MeetingServer.Identity;

namespace Room.MeetingServer.Tests;

/// <summary>Unit tests of the identity parts (the processes above use them for real).</summary>
public sealed class IdentityUnitTests : IDisposable
{
    private readonly string _dir = Support.Repo.TempDir("room-ms-unit");

    private IOptions<MeetingServerOptions> Options() => Microsoft.Extensions.Options.Options.Create(new MeetingServerOptions { DataDirectory = _dir, Argon2MemoryKiB = 8192, Argon2Passes = 1 });

    [Fact]
    public void Passwords_are_stored_as_Argon2id_and_only_the_right_password_verifies()
    {
        var h = new PasswordHasher(Options());
        string phc = h.Hash("correct horse");
        Assert.StartsWith("$argon2id$v=19$m=8192,t=1,p=1$", phc, StringComparison.Ordinal);
        Assert.True(PasswordHasher.Verify("correct horse", phc));
        Assert.False(PasswordHasher.Verify("correct horsE", phc));
        Assert.NotEqual(phc, h.Hash("correct horse")); // salted
        Assert.False(PasswordHasher.Verify("x", "$argon2i$v=19$m=8192,t=1,p=1$AAAA$AAAA"));
        Assert.False(PasswordHasher.Verify("x", "garbage"));
        Assert.False(PasswordHasher.Verify("x", "$argon2id$v=19$m=x,t=1,p=1$AAAA$AAAA"));
    }

    [Fact]
    public void Tokens_expire_and_a_changed_token_is_refused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var t = new TokenService(Options(), time);
        string token = t.Issue("person:ann", admin: false);
        Assert.Equal(("person:ann", false), t.Check(token));
        Assert.Null(t.Check(token[..^2] + (token[^2] == 'A' ? "BA" : "AA")));
        Assert.Null(t.Check("no-dot"));
        Assert.Null(t.Check("."));
        Assert.Null(t.Check("!!!.???"));
        time.Advance(TimeSpan.FromHours(8) + TimeSpan.FromSeconds(1));
        Assert.Null(t.Check(token));
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("a,b", "a\\,b")]
    [InlineData("#x ", "\\#x\\ ")]
    [InlineData("a=b+c", "a\\=b\\+c")]
    public void Directory_names_are_escaped_in_the_bind_DN(string user, string escaped) =>
        Assert.Equal(escaped, LdapAuthenticator.EscapeDnValue(user));

    [Theory]
    [InlineData("device:boardroom", true)]
    [InlineData("person:ann.lee", true)]
    [InlineData("device:", false)]
    [InlineData("Device:x", false)]
    [InlineData("person:ann,ou=admins", false)]
    [InlineData("admin", false)]
    public void Identities_are_device_or_person_with_a_plain_name(string identity, bool valid) =>
        Assert.Equal(valid, Identities.IsValid(identity));

    public void Dispose() => Directory.Delete(_dir, true);
}
