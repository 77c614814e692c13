using Room.Testing;

namespace Room.MeetingServer.Tests;

public sealed class DeploymentTests
{
    [Fact]
    public async Task The_systemd_unit_verifies_cleanly()
    {
        string unit = Path.Combine(Support.Repo.Root, "meeting-server", "Room.MeetingServer", "deploy", "room-meeting-server.service");
        var (code, output) = await SystemdUnits.VerifyAsync(unit, "/usr/bin/dotnet");
        Assert.True(code == 0 && output.Length == 0, output);
    }
}
