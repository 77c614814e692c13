using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Camera;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Tests;

public sealed class PresetStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-presets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private PresetStore Create() => new(Options.Create(new RoomOptions { StateDirectory = _dir }), NullLogger<PresetStore>.Instance);

    [Fact]
    public void Presets_survive_a_new_store_on_the_same_directory()
    {
        Create().Store("usb:1-1.2", "Lectern", new PtzPosition(12.5, -3, 0.25));
        var reloaded = Create();
        Assert.Equal(new PtzPosition(12.5, -3, 0.25), reloaded.Get("usb:1-1.2", "Lectern"));
        Assert.Equal(["Lectern"], reloaded.Names("usb:1-1.2"));
        Assert.Empty(reloaded.Names("usb:other"));
    }

    [Fact]
    public void Presets_are_kept_per_camera()
    {
        var store = Create();
        store.Store("cam-a", "Door", new PtzPosition(1, 1, 0));
        var ex = Assert.Throws<RoomBusException>(() => store.Get("cam-b", "Door"));
        Assert.Equal(BusErrors.UnknownPreset, ex.ErrorName);
    }

    [Fact]
    public void Deleting_an_unknown_preset_is_a_named_error_and_changes_nothing()
    {
        var store = Create();
        store.Store("cam", "Table", new PtzPosition(0, 0, 0.5));
        var ex = Assert.Throws<RoomBusException>(() => store.Delete("cam", "Nope"));
        Assert.Equal(BusErrors.UnknownPreset, ex.ErrorName);
        Assert.Equal(["Table"], Create().Names("cam"));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("slash/inside")]
    [InlineData("quote\"")]
    [InlineData("new\nline")]
    [InlineData("a-name-that-is-far-longer-than-thirty-two-characters")]
    public void Invalid_names_are_refused(string name)
    {
        var store = Create();
        var ex = Assert.Throws<RoomBusException>(() => store.Store("cam", name, default));
        Assert.Equal(BusErrors.InvalidArgument, ex.ErrorName);
        Assert.Empty(store.Names("cam"));
    }

    [Fact]
    public void A_camera_holds_at_most_the_maximum_number_of_presets()
    {
        var store = Create();
        for (var i = 0; i < PresetStore.MaxPresetsPerCamera; i++)
        {
            store.Store("cam", $"p{i}", default);
        }

        var ex = Assert.Throws<RoomBusException>(() => store.Store("cam", "one-more", default));
        Assert.Equal(BusErrors.OutOfRange, ex.ErrorName);
        store.Store("cam", "p0", new PtzPosition(5, 5, 0)); // overwriting is still allowed
        Assert.Equal(PresetStore.MaxPresetsPerCamera, store.Names("cam").Count);
    }

    [Fact]
    public void A_corrupt_presets_file_is_set_aside_not_lost()
    {
        File.WriteAllText(Path.Combine(_dir, "presets.json"), "{ this is not json");
        var store = Create();
        Assert.Empty(store.Names("cam"));
        var aside = Directory.GetFiles(_dir, "presets.json.corrupt-*");
        Assert.Single(aside);
        Assert.Equal("{ this is not json", File.ReadAllText(aside[0]));
    }
}
