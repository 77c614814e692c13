Console.WriteLine(Room.Media.VideoEncoder.Probe());
