using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Room.Appliance.Administration;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Tests;

/// <summary>Who may administer: root always, others only on the connection a PIN opened a session on, until it expires.</summary>
public sealed class AdminAuthorizerTests : IDisposable
{
    private const string Pin = "246813";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly DirectoryInfo _state = Directory.CreateTempSubdirectory("room-auth-");
    private readonly DBusConnection _connection = new("unix:path=/nonexistent/never-connected");
    private readonly Callers _callers = new();
    private readonly PinStore _pins;
    private readonly AdminAuthorizer _auth;

    public AdminAuthorizerTests()
    {
        _pins = new PinStore(_state.FullName, NullLogger<PinStore>.Instance);
        _pins.Set(Pin);
        _auth = new AdminAuthorizer(_pins, _callers, _time, Options.Create(new AdminOptions { SessionSeconds = 600 }), NullLogger<AdminAuthorizer>.Instance);
    }

    public void Dispose()
    {
        _connection.Dispose();
        _state.Delete(recursive: true);
    }

    private BusCaller Caller(string uniqueName, uint uid)
    {
        _callers.Uids[uniqueName] = uid;
        return new BusCaller(uniqueName, _connection);
    }

    [Fact]
    public async Task Root_is_an_admin_without_a_session()
    {
        var who = await _auth.RequireAdminAsync(Caller(":1.1", 0), default);
        Assert.True(who.IsRoot);
    }

    [Fact]
    public async Task Another_user_is_refused_with_the_reason_until_it_unlocks()
    {
        var kiosk = Caller(":1.2", 1001);
        var ex = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(kiosk, default).AsTask());
        Assert.Equal(AdminRefusalKind.NotAuthorized, ex.Kind);
        Assert.Contains("1001", ex.Message, StringComparison.Ordinal);

        Assert.NotNull(await _auth.TryUnlockAsync(kiosk, Pin, default));
        Assert.Equal(1001u, (await _auth.RequireAdminAsync(kiosk, default)).Uid);
    }

    [Fact]
    public async Task A_session_belongs_to_its_connection_only_even_for_the_same_user()
    {
        var first = Caller(":1.3", 1001);
        var second = Caller(":1.4", 1001);
        Assert.NotNull(await _auth.TryUnlockAsync(first, Pin, default));

        var ex = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(second, default).AsTask());
        Assert.Equal(AdminRefusalKind.NotAuthorized, ex.Kind);
        await _auth.RequireAdminAsync(first, default);
    }

    [Fact]
    public async Task A_session_expires_after_its_time_and_ends_with_Lock()
    {
        var kiosk = Caller(":1.5", 1001);
        var until = await _auth.TryUnlockAsync(kiosk, Pin, default);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(600), until);

        _time.Advance(TimeSpan.FromSeconds(599));
        await _auth.RequireAdminAsync(kiosk, default);
        _time.Advance(TimeSpan.FromSeconds(1));
        var expired = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(kiosk, default).AsTask());
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);

        await _auth.TryUnlockAsync(kiosk, Pin, default);
        await _auth.LockAsync(kiosk, default);
        await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(kiosk, default).AsTask());
    }

    [Fact]
    public async Task A_wrong_pin_opens_nothing()
    {
        var kiosk = Caller(":1.6", 1001);
        Assert.Null(await _auth.TryUnlockAsync(kiosk, "135792", default));
        await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(kiosk, default).AsTask());
    }

    [Fact]
    public async Task Wrong_pins_slow_down_per_user_with_growing_delays_and_other_users_are_not_held_up()
    {
        var guesser = Caller(":1.7", 1001);
        for (var i = 0; i < AdminAuthorizer.FreeFailures; i++)
        {
            Assert.Null(await _auth.TryUnlockAsync(guesser, "000000", default));
        }

        // The 5th wrong PIN imposes the first wait; the right PIN is then refused unchecked, from a new connection too.
        Assert.Null(await _auth.TryUnlockAsync(guesser, "000000", default));
        var locked = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.TryUnlockAsync(Caller(":1.8", 1001), Pin, default).AsTask());
        Assert.Equal(AdminRefusalKind.LockedOut, locked.Kind);
        Assert.Contains("30 s", locked.Message, StringComparison.Ordinal);

        // Another user is not held up by this one's guessing.
        Assert.NotNull(await _auth.TryUnlockAsync(Caller(":1.9", 1002), Pin, default));

        _time.Advance(AdminAuthorizer.FirstDelay);
        Assert.Null(await _auth.TryUnlockAsync(guesser, "000000", default));
        _time.Advance(AdminAuthorizer.FirstDelay);
        var longer = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.TryUnlockAsync(guesser, Pin, default).AsTask());
        Assert.Contains("30 s", longer.Message, StringComparison.Ordinal); // 60 s after the 6th, 30 s of it left

        _time.Advance(AdminAuthorizer.FirstDelay);
        Assert.NotNull(await _auth.TryUnlockAsync(guesser, Pin, default));
        // Success forgets the failures: the next wrong PIN costs nothing again.
        Assert.Null(await _auth.TryUnlockAsync(guesser, "000000", default));
        Assert.NotNull(await _auth.TryUnlockAsync(guesser, Pin, default));
    }

    [Fact]
    public void Delays_double_and_stop_at_an_hour()
    {
        Assert.Equal(TimeSpan.Zero, AdminAuthorizer.DelayAfter(AdminAuthorizer.FreeFailures));
        Assert.Equal(TimeSpan.FromSeconds(30), AdminAuthorizer.DelayAfter(AdminAuthorizer.FreeFailures + 1));
        Assert.Equal(TimeSpan.FromSeconds(60), AdminAuthorizer.DelayAfter(AdminAuthorizer.FreeFailures + 2));
        Assert.Equal(TimeSpan.FromHours(1), AdminAuthorizer.DelayAfter(AdminAuthorizer.FreeFailures + 30));
        Assert.Equal(TimeSpan.FromHours(1), AdminAuthorizer.DelayAfter(int.MaxValue));
    }

    [Fact]
    public async Task Changing_the_pin_ends_every_session()
    {
        var kiosk = Caller(":1.10", 1001);
        await _auth.TryUnlockAsync(kiosk, Pin, default);
        _auth.EndAllSessions();
        await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(kiosk, default).AsTask());
    }

    [Fact]
    public async Task Without_a_pin_no_session_can_be_opened_and_a_caller_that_cannot_be_identified_is_refused()
    {
        _pins.Delete();
        var ex = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.TryUnlockAsync(Caller(":1.11", 1001), "123456", default).AsTask());
        Assert.Equal(AdminRefusalKind.NotAuthorized, ex.Kind);

        var unknown = await Assert.ThrowsAsync<AdminRefusedException>(() => _auth.RequireAdminAsync(null, default).AsTask());
        Assert.Equal(AdminRefusalKind.NotAuthorized, unknown.Kind);
    }

    private sealed class Callers : ICallerIdentity
    {
        public Dictionary<string, uint> Uids { get; } = [];

        public ValueTask<AdminCaller> IdentifyAsync(BusCaller? caller, CancellationToken cancellationToken) =>
            caller is not null && Uids.TryGetValue(caller.UniqueName, out var uid)
                ? ValueTask.FromResult(new AdminCaller(caller.UniqueName, uid))
                : throw new AdminRefusedException(AdminRefusalKind.NotAuthorized, "The caller cannot be identified.");
    }
}
