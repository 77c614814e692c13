using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Administration;
using Room.Bus;

namespace Room.Appliance.Tests;

public class AdminPinVerifierTests
{
    private readonly ManualTime _time = new();

    private AdminPinVerifier Create(string pin) =>
        new(Options.Create(new RoomOptions { AdminPin = pin }), _time, NullLogger<AdminPinVerifier>.Instance);

    [Fact]
    public void The_right_pin_is_accepted_and_a_wrong_one_refused()
    {
        var pins = Create("4711");
        Assert.True(pins.Check("4711"));
        Assert.False(pins.Check("4712"));
        Assert.False(pins.Check(""));
    }

    [Fact]
    public void Five_wrong_pins_lock_out_even_the_right_one_until_the_lockout_ends()
    {
        var pins = Create("4711");
        for (var i = 0; i < AdminPinVerifier.MaxFailures; i++)
        {
            Assert.False(pins.Check("0000"));
        }

        var ex = Assert.Throws<RoomBusException>(() => pins.Check("4711"));
        Assert.Equal(BusErrors.LockedOut, ex.ErrorName);

        _time.Advance(AdminPinVerifier.LockoutDuration);
        Assert.True(pins.Check("4711"));
    }

    [Fact]
    public void Without_a_configured_pin_settings_stay_locked()
    {
        var ex = Assert.Throws<RoomBusException>(() => Create("").Check("1234"));
        Assert.Equal(BusErrors.NotSupported, ex.ErrorName);
    }

    [Fact]
    public void An_absurdly_long_pin_is_refused_as_invalid()
    {
        var ex = Assert.Throws<RoomBusException>(() => Create("4711").Check(new string('1', 10_000)));
        Assert.Equal(BusErrors.InvalidArgument, ex.ErrorName);
    }
}
