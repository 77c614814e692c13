using Room.Media.Interop;

namespace Room.Media;

/// <summary>Process-wide hardware codec settings (per-encoder <see cref="EncoderOptions.VaapiDevice"/> overrides).</summary>
public static class MediaHardware
{
    private static string? s_vaapiDevice;

    /// <summary>
    /// The DRM render node VAAPI encoders and decoders use: set here, else the environment variable
    /// <c>ROOM_VAAPI_DEVICE</c> (e.g. in roomd's systemd unit, for a box whose GPU is not the first), else
    /// /dev/dri/renderD128.
    /// </summary>
    public static string VaapiDevice
    {
        get => s_vaapiDevice
            ?? (Environment.GetEnvironmentVariable("ROOM_VAAPI_DEVICE") is { Length: > 0 } env ? env : VaapiDefaults.DefaultRenderNode);
        set => s_vaapiDevice = string.IsNullOrWhiteSpace(value) ? null : value;
    }
}
