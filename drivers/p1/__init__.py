"""P1 port hardware: the UART (pyserial), the request line (gpiozero) and a pty null modem."""
