using System.Diagnostics;
using Room.Bus.Client;

namespace Room.Testing;

public static class RoomStatusWait
{
    /// <summary>Reads roomd's status until <paramref name="condition"/> holds; fails with the last status after <paramref name="patience"/>.</summary>
    public static async Task<RoomStatus> UntilAsync(this RoomBusClient client, Func<RoomStatus, bool> condition, TimeSpan patience)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(condition);
        var sw = Stopwatch.StartNew();
        RoomStatus status;
        while (!condition(status = await client.GetStatusAsync().ConfigureAwait(false)))
        {
            if (sw.Elapsed > patience)
            {
                throw new TimeoutException($"not reached within {patience.TotalSeconds} s; last status: {status}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        return status;
    }
}
