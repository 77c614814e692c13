using System.Diagnostics;

namespace Room.Testing;

/// <summary>Stopping what a test started: a server process and its scratch folder.</summary>
public static class ServerProcess
{
    /// <summary>Kills the process (and anything it started), waits up to 5 s for it to be gone, and releases it.</summary>
    public static void Stop(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It never started or is already released.
        }

        process.Dispose();
    }

    /// <summary><see cref="Stop(Process)"/>, then deletes the server's scratch folder (what cannot be deleted stays).</summary>
    public static void Stop(Process process, string directory)
    {
        Stop(process);
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
