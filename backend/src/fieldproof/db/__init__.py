from .engine import Database
from .models import ApiToken, Base, Capture, Device, Nonce, User

__all__ = ["ApiToken", "Base", "Capture", "Database", "Device", "Nonce", "User"]
