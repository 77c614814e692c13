using Room.Fleet.Channel;

namespace Room.Fleet.Tests;

public sealed class FleetStatusTests
{
    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"room\":\"a/b\",\"online\":true}")]
    [InlineData("{\"room\":\"\",\"online\":true}")]
    [InlineData("{\"online\":true}")]
    [InlineData("{\"room\":\"device:x\",\"online\":\"yes\"}")]
    [InlineData("{\"room\":\"device:x\",\"update\":{\"jobId\":\"j\",\"phase\":\"Exploded\",\"percent\":1}}")]
    public void A_malformed_status_document_is_not_a_status(string json) =>
        Assert.Null(FleetStatus.Parse(System.Text.Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void A_status_round_trips()
    {
        var s = new FleetStatus("device:x", true, "1.2.3", "room-box-amd64", "B",
            [new SlotState("rootfs.1", "B", "booted", "good", "1.2.3")], "ok", new UpdateProgress("job-1", UpdatePhase.Installing, 40, "writing"));
        var back = FleetStatus.Parse(s.ToJson());
        Assert.NotNull(back);
        Assert.Equal(s with { Slots = null }, back with { Slots = null });
        Assert.Equal(s.Slots, back.Slots);
    }

    [Theory]
    [InlineData("device:room-1", true)]
    [InlineData("room/1", false)]
    [InlineData("room+", false)]
    [InlineData("#", false)]
    [InlineData("with space", false)]
    [InlineData("", false)]
    public void Fleet_names_exclude_topic_separators_and_wildcards(string name, bool valid) =>
        Assert.Equal(valid, FleetTopics.IsValidName(name));

    [Fact]
    public void A_topic_that_is_not_a_rooms_status_names_no_room()
    {
        Assert.Equal("device:a", FleetTopics.RoomOfStatus("room/v1/rooms/device:a/status"));
        Assert.Null(FleetTopics.RoomOfStatus("room/v1/rooms/device:a/jobs"));
        Assert.Null(FleetTopics.RoomOfStatus("room/v1/rooms/a/b/status"));
    }
}
