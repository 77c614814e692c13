using System.Runtime.InteropServices;
using System.Text;

namespace Room.Devices.Interop;

/// <summary>
/// The GPIO character device's chip information (include/uapi/linux/gpio.h, GPIO_GET_CHIPINFO_IOCTL): the kernel
/// name ("gpiochip3"), the label the driver gives the chip ("gpio-sim.0-node0", "pinctrl-bcm2711") and the line
/// count. Used to find a chip by label: a chip's number changes when it is removed and comes back, its label does not.
/// </summary>
internal static unsafe class GpioChardev
{
    [StructLayout(LayoutKind.Sequential)]
    private struct ChipInfo
    {
        public fixed byte Name[32];
        public fixed byte Label[32];
        public uint Lines;
    }

    private static readonly nuint s_getChipInfo = Libc.IoR((char)0xB4, 0x01, sizeof(ChipInfo));

    /// <summary>Name, label and line count of one chip node, or null when it cannot be opened or asked.</summary>
    public static (string Name, string Label, int Lines)? Info(string path)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            ChipInfo info;
            if (Libc.IoctlRetry(fd, s_getChipInfo, &info) != 0)
            {
                return null;
            }

            return (Text(info.Name), Text(info.Label), (int)info.Lines);
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }

    private static string Text(byte* bytes)
    {
        var length = 0;
        while (length < 32 && bytes[length] != 0)
        {
            length++;
        }

        return Encoding.UTF8.GetString(bytes, length);
    }
}
