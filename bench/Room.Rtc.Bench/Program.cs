System.Console.WriteLine("rtc-bench: pending");
