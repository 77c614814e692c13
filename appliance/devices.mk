# Room.Devices (Linux drivers): Debian packages the drivers load at run time.
# libasound2: ALSA capture/playback/mixer (P/Invoke); libgpiod2: System.Device.Gpio's libgpiod driver.
APT_PACKAGES += libasound2 libgpiod2
