<#
.SYNOPSIS
  Installs Backroom for the current user, without administrator rights.
.DESCRIPTION
  Copies backroom.exe to %LOCALAPPDATA%\Backroom (the data is kept next to it), adds a
  Start-menu shortcut that opens the dashboard, and a scheduled task that starts Backroom at
  logon. Safe to run again: the program is replaced, the data never.
.PARAMETER Binary
  Path to backroom.exe (default: backroom.exe next to this script).
.PARAMETER Port
  Port for the dashboard (default 5000).
#>
param(
    [string]$Binary = (Join-Path $PSScriptRoot 'backroom.exe'),
    [int]$Port = 5000
)
$ErrorActionPreference = 'Stop'

if (-not (Test-Path -LiteralPath $Binary)) {
    throw "Cannot find $Binary. Pass -Binary C:\path\to\backroom.exe"
}
$prefix = Join-Path $env:LOCALAPPDATA 'Backroom'
New-Item -ItemType Directory -Force -Path $prefix | Out-Null
$target = Join-Path $prefix 'backroom.exe'

# Stop a running copy so the file can be replaced.
Get-ScheduledTask -TaskName 'Backroom' -ErrorAction SilentlyContinue | Stop-ScheduledTask -ErrorAction SilentlyContinue
Get-Process -Name 'backroom' -ErrorAction SilentlyContinue |
    Where-Object { $_.Path -eq $target } | Stop-Process -Force -ErrorAction SilentlyContinue
Copy-Item -LiteralPath $Binary -Destination $target -Force

# Start menu: an Internet shortcut that opens the dashboard.
$programs = [Environment]::GetFolderPath('Programs')
$shortcut = Join-Path $programs 'Backroom.url'
Set-Content -LiteralPath $shortcut -Value "[InternetShortcut]`r`nURL=http://localhost:$Port/`r`n" -Encoding ASCII

# Start at logon, hidden, restarted if it fails.
$action = New-ScheduledTaskAction -Execute $target -Argument "--port $Port" -WorkingDirectory $prefix
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME
$settings = New-ScheduledTaskSettingsSet -Hidden -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
    -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit (New-TimeSpan -Seconds 0)
Register-ScheduledTask -TaskName 'Backroom' -Action $action -Trigger $trigger -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName 'Backroom'

Write-Host "Installed Backroom in $prefix (your data is kept there too)."
Write-Host "Open http://localhost:$Port/ (Start menu: Backroom). First time: create the first account there."
