"""The outbound side that must know Telegram: the rate-limited Sender (pacer, journal,
failures), and the rendering of reminders, announcements, progress messages and notices.

Services reach it only through the protocols of bot/services/ports.py, which it implements.
"""
