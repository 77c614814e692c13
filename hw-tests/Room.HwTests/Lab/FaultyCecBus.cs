using Room.Devices.Display;

namespace Room.HwTests.Lab;

/// <summary>
/// Lab fault injection (HWTEST_FAULT=cec-opcode): a CEC driver with a wrong opcode constant, sending 0x05 where
/// Image View On (0x04) belongs. The screen must then never wake, and the suite must say so.
/// </summary>
public sealed class FaultyCecBus(ICecBus inner) : ICecBus
{
    public string Name => inner.Name;

    public ushort PhysicalAddress => inner.PhysicalAddress;

    public byte LogicalAddress => inner.LogicalAddress;

    public CecTransmitResult Transmit(CecMessage message, byte replyOpcode, TimeSpan timeout)
    {
        if (message.Opcode == CecOpcode.ImageViewOn)
        {
            message = CecMessage.Create(message.Initiator, message.Destination, 0x05, message.Operands);
        }

        return inner.Transmit(message, replyOpcode, timeout);
    }

    public void Dispose() => inner.Dispose();
}
