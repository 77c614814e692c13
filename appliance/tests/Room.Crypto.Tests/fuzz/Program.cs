// Fuzz targets: "mls" (MLSMessage and ratchet tree decoders) and "sframe" (header parser and decrypt path).
// Only the typed exceptions (MlsException / SFrameException) are expected; anything else is a finding.
// Run: sharpfuzz bin/Release/net10.0/Room.Crypto.dll, then e.g. with libfuzzer-dotnet:
//   libfuzzer-dotnet --target_path=bin/Release/net10.0/Room.Crypto.Fuzz --target_arg=mls corpus/
using Room.Crypto;
using Room.Crypto.Mls;
using Room.Crypto.SFrame;
using SharpFuzz;

string target = args.Length > 0 ? args[0] : "mls";
var sframeRx = new SFrameContext(SFrameCipherSuite.AesCtr128HmacSha256Tag80);
sframeRx.AddKey(0, new byte[16]);
byte[] output = new byte[1 << 16];

Fuzzer.LibFuzzer.Run(span =>
{
    try
    {
        if (target == "sframe")
        {
            SFrameHeader.Decode(span, out _);
            sframeRx.Decrypt([], span, output);
        }
        else
        {
            byte[] data = span.ToArray();
            try
            {
                _ = RatchetTree.Decode(data);
            }
            catch (RoomCryptoException)
            {
                // expected
            }

            var msg = MlsMessage.Decode(data);
            _ = msg.ToBytes();
        }
    }
    catch (RoomCryptoException)
    {
        // expected: malformed input is refused with a typed error
    }
});
