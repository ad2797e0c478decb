"""The only code that changes state. Each public function is one transaction."""
