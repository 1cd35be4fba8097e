"""The admin center: server-rendered pages for customer admins and the operator."""
