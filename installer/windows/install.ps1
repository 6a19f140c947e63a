<#
.SYNOPSIS
  Installs Backroom for the current user, without administrator rights.
.DESCRIPTION
  Copies backroom.exe to %LOCALAPPDATA%\Backroom (the data is kept next to it), adds a
  Start-menu shortcut that opens the dashboard, and a scheduled task that starts Backroom at
  logon without a console window (so there is no window to close by mistake). Safe to run
  again: a running copy is stopped and waited for, the program is replaced, the data never.
  Easiest: double-click install.cmd, which runs this script.
.PARAMETER Binary
  Path to backroom.exe (default: backroom.exe next to this script).
.PARAMETER Port
  Port for the dashboard (default 5000).
#>
param(
    [string]$Binary = (Join-Path $PSScriptRoot 'backroom.exe'),
    [ValidateRange(1, 65535)][int]$Port = 5000
)
$ErrorActionPreference = 'Stop'

if (-not (Test-Path -LiteralPath $Binary)) {
    throw "Cannot find $Binary. Pass -Binary C:\path\to\backroom.exe"
}
$prefix = Join-Path $env:LOCALAPPDATA 'Backroom'
New-Item -ItemType Directory -Force -Path $prefix | Out-Null
$target = Join-Path $prefix 'backroom.exe'

# Stop a running copy and wait until it has exited, so the file can be replaced. (Backroom
# survives being stopped at any moment: an unfinished backup is never taken for a good one.)
Get-ScheduledTask -TaskName 'Backroom' -ErrorAction SilentlyContinue | Stop-ScheduledTask -ErrorAction SilentlyContinue
$running = @(Get-Process -Name 'backroom' -ErrorAction SilentlyContinue | Where-Object { $_.Path -eq $target })
if ($running.Count -gt 0) {
    $running | Stop-Process -Force -ErrorAction SilentlyContinue
    $running | Wait-Process -Timeout 60 -ErrorAction SilentlyContinue
}
$copied = $false
for ($try = 1; $try -le 10 -and -not $copied; $try++) {
    try {
        Copy-Item -LiteralPath $Binary -Destination $target -Force
        $copied = $true
    } catch {
        # Antivirus may still be scanning the old file.
        Start-Sleep -Seconds 1
    }
}
if (-not $copied) { throw "Cannot replace $target: another program is using it. Close it and run this again." }

# Start menu: an Internet shortcut that opens the dashboard.
$programs = [Environment]::GetFolderPath('Programs')
$shortcut = Join-Path $programs 'Backroom.url'
Set-Content -LiteralPath $shortcut -Value "[InternetShortcut]`r`nURL=http://localhost:$Port/`r`n" -Encoding ASCII

# Start at logon with no console window, at normal priority (tasks default to below normal),
# restarted if it fails. Paths are quoted: user folders often contain spaces.
$action = New-ScheduledTaskAction -Execute "`"$target`"" `
    -Argument "--no-window --data-dir `"$prefix`" --port $Port" -WorkingDirectory $prefix
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
    -Priority 5 -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1) `
    -ExecutionTimeLimit (New-TimeSpan -Seconds 0)
Register-ScheduledTask -TaskName 'Backroom' -Action $action -Trigger $trigger -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName 'Backroom'

Write-Host "Installed Backroom in $prefix (your data is kept there too)."
Write-Host "Open http://localhost:$Port/ (Start menu: Backroom). First time: create the first account there."
