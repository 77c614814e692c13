namespace Room.Media.Interop;

/// <summary>Frees an encoder's or decoder's FFmpeg objects once, leaving the fields null.</summary>
internal static unsafe class CodecHandles
{
    public static void Free(ref void* context, ref AVFrameHead* frame, ref AVPacketHead* packet)
    {
        if (frame is not null)
        {
            var f = frame;
            FFmpeg.av_frame_free(&f);
            frame = null;
        }

        if (packet is not null)
        {
            var p = packet;
            FFmpeg.av_packet_free(&p);
            packet = null;
        }

        if (context is not null)
        {
            var c = context;
            FFmpeg.avcodec_free_context(&c);
            context = null;
        }
    }
}
