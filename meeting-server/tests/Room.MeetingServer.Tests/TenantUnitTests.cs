using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Room.Crypto.Certificates;
using Room.Crypto.Mls;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;
using Room.MeetingServer.Storage;
using Room.MeetingServer.Tenants;
using Room.MeetingServer.Tests.Support;
using Room.Testing;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Tenants in-process on SQLite (FakeTimeProvider): the checks of everything an operator or tenant administrator sends
/// (names, colours, logos, host names), each tenant's credential check refusing the other's CA and guest CA, the schema
/// added beside an existing single-organisation database (its data kept), and tenants reopened after a restart.
/// </summary>
public sealed class TenantUnitTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("room-ms-tenants");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => Directory.Delete(_dir, true);

    private ServiceProvider Build()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MeetingServer:DataDirectory"] = _dir,
            ["MeetingServer:Argon2MemoryKiB"] = "8192",
            ["MeetingServer:Argon2Passes"] = "1",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddMeetingServer(config);
        services.AddSingleton<TimeProvider>(_time);
        return services.BuildServiceProvider();
    }

    private TenantRecord Record(string slug) => new(slug, "Town " + slug, Branding.DefaultPrimary, Branding.DefaultAccent, null, 389, null, [], _time.GetUtcNow().ToUnixTimeSeconds());

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("default")]
    [InlineData("operator")]
    [InlineData("Town")]
    [InlineData("1town")]
    [InlineData("town/../x")]
    [InlineData("town x")]
    [InlineData("town_x")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    public void A_bad_short_name_is_refused(string? slug) =>
        Assert.Equal(Refusal.Malformed, Assert.Throws<RefusedException>(() => Branding.CheckSlug(slug)).Refusal);

    [Theory]
    [InlineData("ab")]
    [InlineData("stadt-aheim")]
    [InlineData("t0")]
    public void A_good_short_name_is_taken(string slug) => Assert.Equal(slug, Branding.CheckSlug(slug));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("red")]
    [InlineData("#fff")]
    [InlineData("#12345")]
    [InlineData("#1234567")]
    [InlineData("#gg0000")]
    [InlineData("#000000; } body { display: none")]
    [InlineData("#ffffff")]
    [InlineData("#ffff00")]
    [InlineData("#2e7dff")]
    public void A_colour_that_is_none_or_too_light_for_white_text_is_refused(string? color) =>
        Assert.Equal(Refusal.Malformed, Assert.Throws<RefusedException>(() => Branding.CheckColor(color, "primaryColor")).Refusal);

    [Theory]
    [InlineData("#000000", "#000000")]
    [InlineData(" #1B5E20 ", "#1b5e20")]
    [InlineData("#0b5cad", "#0b5cad")]
    public void A_dark_colour_is_taken_in_lower_case(string color, string expected)
    {
        Assert.Equal(expected, Branding.CheckColor(color, "accentColor"));
        Assert.True(Branding.ContrastWithWhite(expected) >= 4.5);
    }

    [Fact]
    public void Display_names_are_trimmed_bounded_and_without_control_characters()
    {
        Assert.Equal("Stadt Aheim", Branding.CheckDisplayName("  Stadt Aheim "));
        Assert.Equal("Gemeinde Groß-Bedorf", Branding.CheckDisplayName("Gemeinde Groß-Bedorf"));
        foreach (var bad in new[] { null, "", "   ", new string('x', 65), "a\nb", "a\u0000b" })
        {
            Assert.Throws<RefusedException>(() => Branding.CheckDisplayName(bad));
        }
    }

    [Fact]
    public void A_logo_is_a_PNG_or_JPEG_of_its_declared_type_and_bounded_size()
    {
        byte[] png = TestPng.Make(16, 8, (0, 0, 0), (255, 255, 255));
        Assert.Equal("image/png", Branding.CheckLogo(png, "image/png"));
        Assert.Equal("image/png", Branding.CheckLogo(png, "IMAGE/PNG; charset=binary"));
        byte[] jpeg = Jpeg(40, 30);
        Assert.Equal("image/jpeg", Branding.CheckLogo(jpeg, "image/jpeg"));

        byte[] huge = (byte[])png.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(16), 0xFFFFFFFF);
        byte[] zero = (byte[])png.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(zero.AsSpan(20), 0);
        foreach (var (what, data, type) in new (string, byte[], string?)[]
        {
            ("empty", [], "image/png"),
            ("text", "not an image"u8.ToArray(), "image/png"),
            ("SVG", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"u8.ToArray(), "image/svg+xml"),
            ("GIF", "GIF89a\x01\x00\x01\x00"u8.ToArray(), "image/gif"),
            ("PNG as JPEG", png, "image/jpeg"),
            ("JPEG as PNG", jpeg, "image/png"),
            ("no type", png, null),
            ("PNG signature only", png[..8], "image/png"),
            ("PNG without IHDR", [.. png[..12], .. "IDAT"u8.ToArray(), .. png[16..]], "image/png"),
            ("4 billion pixels wide", huge, "image/png"),
            ("zero pixels high", zero, "image/png"),
            ("JPEG without a frame", [0xFF, 0xD8, 0xFF, 0xD9], "image/jpeg"),
            ("JPEG with a bad segment length", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0x00], "image/jpeg"),
            ("JPEG of 3000 pixels", Jpeg(3000, 10), "image/jpeg"),
            ("too large", [.. png, .. new byte[Branding.MaxLogoBytes]], "image/png"),
        })
        {
            var e = Assert.Throws<RefusedException>(() => Branding.CheckLogo(data, type));
            Assert.True(e.Refusal == Refusal.Malformed, what);
        }
    }

    /// <summary>A JPEG's markers up to its frame header (what the check reads): SOI, APP0, SOF0 with the size.</summary>
    private static byte[] Jpeg(int width, int height) =>
    [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46,
        0xFF, 0xC0, 0x00, 0x0B, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xD9,
    ];

    [Fact]
    public void A_box_keeps_only_checked_branding_and_reads_a_broken_file_as_none()
    {
        string box = Path.Combine(_dir, "box");
        Directory.CreateDirectory(box);
        Assert.Null(Room.MeetingClient.TenantBranding.Load(box));
        byte[] png = TestPng.Make(8, 8, (0, 0, 0), (255, 255, 255));
        Assert.Equal("image/png", Room.MeetingClient.TenantBranding.ImageType(png));
        Assert.Equal("image/jpeg", Room.MeetingClient.TenantBranding.ImageType(Jpeg(4, 4)));
        Assert.Null(Room.MeetingClient.TenantBranding.ImageType("<svg/>"u8));
        Assert.Null(Room.MeetingClient.TenantBranding.ImageType(png.AsSpan(0, 10)));
        var b = new Room.MeetingClient.TenantBranding("town-a", "Stadt Aheim", "#1b5e20", "#2e7d32", "image/png");
        b.Save(box, png);
        Assert.Equal(b, Room.MeetingClient.TenantBranding.Load(box));
        Assert.Equal(png, File.ReadAllBytes(Path.Combine(box, Room.MeetingClient.TenantBranding.LogoFile)));
        (b with { LogoType = null }).Save(box, null);
        Assert.False(File.Exists(Path.Combine(box, Room.MeetingClient.TenantBranding.LogoFile)));
        foreach (var broken in new[] { "", "{", "null", "{\"tenant\":\"x\",\"primaryColor\":\"red\",\"accentColor\":\"#000000\"}" })
        {
            File.WriteAllText(Path.Combine(box, Room.MeetingClient.TenantBranding.File), broken);
            Assert.Null(Room.MeetingClient.TenantBranding.Load(box));
        }
    }

    [Fact]
    public void Host_names_are_checked()
    {
        Assert.Equal(["meet.aheim.example", "10.0.0.5"], OperatorService.CheckHostNames(["Meet.Aheim.Example", "10.0.0.5", "meet.aheim.example."]));
        foreach (var bad in new[] { "", ".", "a b", "-x.example", "x-.example", "x..example", "x.example..", "x.example/", "bad_name.example", new string('a', 254), "*.example" })
        {
            var e = Assert.Throws<RefusedException>(() => OperatorService.CheckHostNames(["good.example", bad]));
            Assert.Equal(Refusal.Malformed, e.Refusal);
            Assert.Contains($"host name '{bad.Trim().TrimEnd('.')}", e.Message, StringComparison.Ordinal);
        }

        Assert.Throws<RefusedException>(() => OperatorService.CheckHostNames([.. Enumerable.Range(0, 9).Select(i => $"h{i}.example")]));
    }

    [Fact]
    public async Task A_tenant_gets_no_host_name_of_the_server_or_of_another_tenant_in_any_spelling_and_a_refusal_changes_nothing()
    {
        using var sp = Build();
        await sp.GetRequiredService<IMeetingStore>().InitializeAsync();
        var reg = sp.GetRequiredService<TenantRegistry>();
        await reg.InitializeAsync();
        var a = await reg.CreateAsync(Record("town-a") with { HostNames = ["meet.aheim.example"] }, "admin", "admin-password-1", default);
        Assert.Same(a.TlsCertificate, reg.CertificateFor("MEET.Aheim.example."));
        // The server's own names (none configured: localhost and 127.0.0.1) and A's, however written.
        string[] taken = ["LOCALHOST.", "127.0.0.1", "Meet.Aheim.Example."];
        foreach (string name in taken)
        {
            var e = await Assert.ThrowsAsync<RefusedException>(() => reg.CreateAsync(Record("town-b") with { HostNames = OperatorService.CheckHostNames([name]) }, "admin", "admin-password-1", default));
            Assert.Equal(Refusal.Duplicate, e.Refusal);
            Assert.Contains(name.ToLowerInvariant().TrimEnd('.'), e.Message, StringComparison.Ordinal);
        }

        Assert.Null(reg.Find("town-b"));
        var b = await reg.CreateAsync(Record("town-b"), "admin", "admin-password-1", default);
        var rows = await reg.Store.ListAsync();
        foreach (string name in taken)
        {
            var e = await Assert.ThrowsAsync<RefusedException>(() => reg.UpdateAsync(b, r => r with { DisplayName = "Changed", HostNames = OperatorService.CheckHostNames([name]) }, default));
            Assert.Equal(Refusal.Duplicate, e.Refusal);
        }

        // The default tenant's names are the server's own, from its configuration.
        Assert.Equal(Refusal.Malformed, (await Assert.ThrowsAsync<RefusedException>(() => reg.UpdateAsync(reg.Default, r => r with { HostNames = ["x.example"] }, default))).Refusal);
        Assert.Equal(rows, await reg.Store.ListAsync(), new RecordComparer());
        Assert.Equal(("Town town-b", 0), (b.Record!.DisplayName, b.Record.HostNames.Count));
        Assert.Null(b.TlsCertificate);
        Assert.Same(a.TlsCertificate, reg.CertificateFor("meet.aheim.example"));

        // A gives its name up; then B may have it, and TLS for it is B's.
        await reg.UpdateAsync(a, r => r with { HostNames = [] }, default);
        await reg.UpdateAsync(b, r => r with { HostNames = ["meet.aheim.example"] }, default);
        Assert.NotNull(b.TlsCertificate);
        Assert.Same(b.TlsCertificate, reg.CertificateFor("meet.aheim.example"));
        Assert.NotNull(b.Ca.Verify(b.TlsCertificate, out _));
    }

    /// <summary>Tenant rows by value (their host name lists too).</summary>
    private sealed class RecordComparer : IEqualityComparer<TenantRecord>
    {
        public bool Equals(TenantRecord? x, TenantRecord? y) => x is not null && y is not null && x with { HostNames = [] } == y with { HostNames = [] } && x.HostNames.SequenceEqual(y.HostNames);

        public int GetHashCode(TenantRecord obj) => obj.Slug.GetHashCode(StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_tenants_credential_check_refuses_the_other_tenants_CA_and_guest_CA()
    {
        using var sp = Build();
        await sp.GetRequiredService<IMeetingStore>().InitializeAsync();
        var reg = sp.GetRequiredService<TenantRegistry>();
        await reg.InitializeAsync();
        var a = await reg.CreateAsync(Record("town-a"), "admin", "admin-password-1", default);
        var b = await reg.CreateAsync(Record("town-b"), "admin", "admin-password-1", default);
        Assert.NotEqual(a.Ca.Pin, b.Ca.Pin);
        Assert.NotEqual(reg.Default.Ca.Pin, a.Ca.Pin);
        Assert.Equal(Path.Combine(_dir, "tenants", "town-a"), a.Options.DataDirectory);
        Assert.True(File.Exists(Path.Combine(_dir, "tenants", "town-a", "meetings.db")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "tenants", "town-a", "ca.key")));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var p = key.ExportParameters(false);
        byte[] pub = [0x04, .. p.Q.X!, .. p.Q.Y!];
        OrganisationCredentialValidator Validator(TenantContext t) =>
            new(t.Ca.Certificate, t.GuestCa.Certificate, () => _time.GetUtcNow().UtcDateTime, requireGuestCa: true);

        using var person = a.Ca.Issue(csr, "person:alice", TimeSpan.FromHours(1));
        using var guest = a.GuestCa.Issue(csr, "guest:0011223344556677", "Gast", "person:alice", TimeSpan.FromHours(1));
        var personCred = Credential.X509([person.RawData]);
        var guestCred = Credential.X509([guest.RawData, a.GuestCa.Certificate!.RawData]);
        Assert.Equal("person:alice", Validator(a).Validate(personCred, pub));
        Assert.Equal("guest:0011223344556677", Validator(a).Validate(guestCred, pub));
        foreach (var other in new[] { b, reg.Default })
        {
            Assert.Throws<Room.Crypto.MlsException>(() => Validator(other).Validate(personCred, pub));
            Assert.Throws<Room.Crypto.MlsException>(() => Validator(other).Validate(guestCred, pub));
            // Even with the other tenant's guest CA certificate swapped in, A's guest certificate does not pass.
            Assert.Throws<Room.Crypto.MlsException>(() => Validator(other).Validate(Credential.X509([guest.RawData, other.GuestCa.Certificate!.RawData]), pub));
            Assert.Null(other.Ca.Verify(person, out _));
        }

        // A's admin, meetings and device check are A's: B and the default tenant know none of them.
        var adminA = new Caller("person:admin", true);
        string meeting = await a.Meetings.CreateMeetingAsync(adminA, "A only", [], default);
        Assert.Equal(Refusal.NotInvited, (await Assert.ThrowsAsync<RefusedException>(() => b.Meetings.RequireMemberAsync(adminA, meeting, default))).Refusal);
        Assert.Equal(Refusal.NotInvited, (await Assert.ThrowsAsync<RefusedException>(() => reg.Default.Meetings.RequireMemberAsync(adminA, meeting, default))).Refusal);
        Assert.Empty(await b.Meetings.MyMeetingsAsync(adminA, default));
        Assert.Single(await a.Meetings.MyMeetingsAsync(adminA, default));
        using var device = a.Ca.Issue(csr, "device:boardroom", TimeSpan.FromDays(1));
        Assert.Null(await b.Meetings.AuthenticateDeviceAsync(device, default));

        // A taken short name is refused and leaves the first tenant as it was.
        Assert.Equal(Refusal.Duplicate, (await Assert.ThrowsAsync<RefusedException>(() => reg.CreateAsync(Record("town-a"), "admin", "admin-password-1", default))).Refusal);
        Assert.Single(await a.Meetings.MyMeetingsAsync(adminA, default));
        // A bad first administrator: nothing is kept.
        await Assert.ThrowsAsync<RefusedException>(() => reg.CreateAsync(Record("town-c"), "Bad Name", "admin-password-1", default));
        Assert.Null(reg.Find("town-c"));
        Assert.DoesNotContain(await reg.Store.ListAsync(), r => r.Slug == "town-c");
    }

    [Fact]
    public async Task Tenants_are_added_beside_an_existing_single_organisation_database_and_come_back_after_a_restart()
    {
        string pin;
        string aPin;
        // Today's server: one organisation with an account and a meeting, before any tenant table existed.
        using (var sp = Build())
        {
            await sp.GetRequiredService<IMeetingStore>().InitializeAsync();
            var meetings = sp.GetRequiredService<MeetingService>();
            await meetings.AddLocalUserAsync("old", "old-password-1", true, default);
            await meetings.CreateMeetingAsync(new Caller("person:old", true), "from before", [], default);
            pin = sp.GetRequiredService<OrganisationCa>().Pin;
        }

        using (var sp = Build())
        {
            await sp.GetRequiredService<IMeetingStore>().InitializeAsync();
            var reg = sp.GetRequiredService<TenantRegistry>();
            await reg.InitializeAsync();
            Assert.Equal(pin, reg.Default.Ca.Pin);
            Assert.Single(await reg.Default.Meetings.MyMeetingsAsync(new Caller("person:old", true), default));
            var a = await reg.CreateAsync(Record("town-a"), "admin", "admin-password-1", default);
            aPin = a.Ca.Pin;
            await reg.UpdateAsync(a, r => r with { DisplayName = "Stadt Aheim", PrimaryColor = "#1b5e20" }, default);
            await a.Meetings.CreateMeetingAsync(new Caller("person:admin", true), "A's", [], default);
        }

        using (var sp = Build())
        {
            await sp.GetRequiredService<IMeetingStore>().InitializeAsync();
            var reg = sp.GetRequiredService<TenantRegistry>();
            await reg.InitializeAsync();
            var a = reg.Find("town-a")!;
            Assert.Equal(aPin, a.Ca.Pin);
            Assert.Equal(("Stadt Aheim", "#1b5e20"), (a.Record!.DisplayName, a.Record.PrimaryColor));
            Assert.Equal("A's", Assert.Single(await a.Meetings.MyMeetingsAsync(new Caller("person:admin", true), default)).Meeting.Title);
            Assert.Equal("person:old", (await reg.Default.Meetings.LoginAsync("old", "old-password-1", default)).Identity);
            await Assert.ThrowsAsync<RefusedException>(() => a.Meetings.LoginAsync("old", "old-password-1", default));
            Assert.Equal("person:admin", (await a.Meetings.LoginAsync("admin", "admin-password-1", default)).Identity);
        }
    }
}
