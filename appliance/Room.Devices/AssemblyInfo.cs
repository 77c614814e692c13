using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Room.Devices.Tests")]
